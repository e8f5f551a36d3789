package restapi_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
)

func TestRecordFields(t *testing.T) {
	require.Equal(t, []string{"id", "customer_email", "category", "amount", "currency", "timestamp"}, restapi.RecordFields)
}

func TestValidate(t *testing.T) {
	ok := restapi.Definition{Name: "s", URL: "https://api.example.com/orders"}
	with := func(f func(d *restapi.Definition)) restapi.Definition {
		d := ok
		f(&d)
		return d
	}
	tests := []struct {
		name string
		def  restapi.Definition
		want []string // problems, "" for none
	}{
		{"minimal", ok, nil},
		{"every style's keys", with(func(d *restapi.Definition) {
			d.Records = "data.orders"
			d.Paginate = restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "page[after]", Next: "meta.next", HasMore: "meta.has_more", SizeParam: "page[size]", Size: 50}
			d.Fields = map[string]string{"id": "order_id", "customer_email": "customer.email"}
			d.Headers = map[string]string{"Accept-Version": "2"}
			d.Auth = restapi.Auth{Header: "X-Api-Key", HeaderEnv: "SHOP_KEY"}
		}), nil},
		{"a mapping names any field a flow reads", with(func(d *restapi.Definition) {
			d.Fields = map[string]string{"sku": "attributes.sku", "unit-price": "attributes.price.amount", "_raw": "raw"}
		}), nil},
		{"a mapping's target is one name, not a path", with(func(d *restapi.Definition) { d.Fields = map[string]string{"price.amount": "price"} }),
			[]string{`fields.price.amount: "price.amount" is not a field name (letters, digits, '_' and '-', starting with a letter or '_', at most 64 characters)`}},
		{"legacy bearer variable allowed", with(func(d *restapi.Definition) { d.Auth.BearerEnv = "BLUEPRINT_HTTP_BEARER_TOKEN" }), nil},
		{"no URL", with(func(d *restapi.Definition) { d.URL = "" }), []string{"url: is missing; give the first page's http(s) URL"}},
		{"relative URL", with(func(d *restapi.Definition) { d.URL = "/orders" }), []string{`url: "/orders" is not an absolute http(s) URL`}},
		{"page with next and total_pages", with(func(d *restapi.Definition) {
			d.Paginate = restapi.Paginate{Style: restapi.StylePage, Next: "next", TotalPages: "pages"}
		}), []string{"paginate.total_pages: give next or total_pages, not both"}},
		{"cursor with next and cursor_field", with(func(d *restapi.Definition) {
			d.Paginate = restapi.Paginate{Style: restapi.StyleCursor, CursorParam: "after", Next: "next", CursorField: "id"}
		}), []string{"paginate.cursor_field: give next or cursor_field, not both"}},
		{"size_param without size", with(func(d *restapi.Definition) {
			d.Paginate = restapi.Paginate{Style: restapi.StylePage, SizeParam: "per_page"}
		}), []string{`paginate.size: is missing; size_param "per_page" needs a page size to send`}},
		{"offset key under page", with(func(d *restapi.Definition) {
			d.Paginate = restapi.Paginate{Style: restapi.StylePage, TotalHeader: "X-Total-Count"}
		}), []string{"paginate.total_header: is not used by style page (it uses: next, page_param, total_pages, size_param, size)"}},
		{"basic without password", with(func(d *restapi.Definition) { d.Auth = restapi.Auth{BasicUser: "u"} }),
			[]string{"auth.basic_password_env: is missing; basic auth takes its password from this environment variable"}},
		{"header without name", with(func(d *restapi.Definition) { d.Auth = restapi.Auth{HeaderEnv: "K"} }),
			[]string{"auth.header: is missing; header_env needs the header's name (e.g. X-Api-Key)"}},
		{"host header", with(func(d *restapi.Definition) { d.Headers = map[string]string{"Host": "x"} }),
			[]string{"headers.Host: Host is set by the HTTP client and cannot be overridden"}},
		{"header value with a newline", with(func(d *restapi.Definition) { d.Headers = map[string]string{"Accept": "a\nb"} }),
			[]string{"headers.Accept: value must be at most 1024 characters without control characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range tt.def.Validate() {
				got = append(got, p.String())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, good := range []string{"shop-orders", "a", "crm2"} {
		assert.NoError(t, restapi.CheckName(good))
	}
	for _, bad := range []string{"", "Shop", "-a", "a-", "a_b", "a.b"} {
		assert.Error(t, restapi.CheckName(bad), bad)
	}
}

func TestCheckFieldName(t *testing.T) {
	for _, good := range append([]string{"sku", "unit-price", "_id", "A1", strings.Repeat("a", restapi.MaxFieldNameLen)}, restapi.RecordFields...) {
		assert.NoError(t, restapi.CheckFieldName(good), good)
	}
	for _, bad := range []string{"", "a.b", "a b", "1st", "-a", "é", strings.Repeat("a", restapi.MaxFieldNameLen+1)} {
		assert.Error(t, restapi.CheckFieldName(bad), bad)
	}
}
