package source

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/blueprint-etl/blueprint/internal/restapi"
	"github.com/blueprint-etl/blueprint/internal/testutil"
)

// TestLayoutOf: after its first page, a read says how the source pages
// (declared, or detected) and where its records are, in every style the
// feeds serve; before it, and for a source without pages, it says nothing.
func TestLayoutOf(t *testing.T) {
	want := map[testutil.FeedStyle]Layout{
		testutil.FeedLinkArray:      {Pagination: restapi.StyleLink},
		testutil.FeedLinkNDJSON:     {Pagination: restapi.StyleLink},
		testutil.FeedNextURL:        {Pagination: restapi.StyleNextURL, Records: "data"},
		testutil.FeedNextPage:       {Pagination: restapi.StylePage, Records: "data"},
		testutil.FeedTotalPages:     {Pagination: restapi.StylePage, Records: "results"},
		testutil.FeedJSONServer:     {Pagination: restapi.StylePage, Records: "data"},
		testutil.FeedOffsetBody:     {Pagination: restapi.StyleOffset, Records: "items"},
		testutil.FeedOffsetHeader:   {Pagination: restapi.StyleOffset},
		testutil.FeedCursorToken:    {Pagination: restapi.StyleCursor, Records: "data.orders"},
		testutil.FeedHasMore:        {Pagination: restapi.StyleCursor, Records: "data"},
		testutil.FeedPageUntilEmpty: {Pagination: restapi.StylePage},
		testutil.FeedSingle:         {Pagination: restapi.StyleSingle},
	}
	require.Len(t, want, len(testutil.FeedStyles), "every style")
	for _, style := range testutil.FeedStyles {
		t.Run(string(style), func(t *testing.T) {
			f := &testutil.Feed{Style: style, Records: testutil.OrderRecords("l", 5), PageSize: 2}
			f.Start(t)
			r, err := Open(context.Background(), feedSpec(t, f), "", 100, restapi.RecordFields, Attempt{}, Config{})
			require.NoError(t, err)
			defer r.Close()
			_, ok := LayoutOf(r)
			assert.False(t, ok, "nothing is known before the first page")
			_, err = r.Next(context.Background())
			require.NoError(t, err)
			got, ok := LayoutOf(r)
			require.True(t, ok)
			assert.Equal(t, want[style], got)
		})
	}
	r, err := Open(context.Background(), mustSpec(t, "demo://orders"), "", 10, restapi.RecordFields, Attempt{}, Config{})
	require.NoError(t, err)
	defer r.Close()
	_, err = r.Next(context.Background())
	require.NoError(t, err)
	_, ok := LayoutOf(r)
	assert.False(t, ok, "a demo source has no pages of its own")
}
