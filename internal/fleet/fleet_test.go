package fleet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdentityCarriesTheWarehouse(t *testing.T) {
	id := Identity("1a2b3c4d")
	assert.Regexp(t, `^\d+@\S+ wh=1a2b3c4d$`, id)
	assert.Equal(t, "1a2b3c4d", WarehouseOf(id))
	assert.Equal(t, "", WarehouseOf("4242@host@"), "another program's identity says nothing")
}

func TestQueueViews(t *testing.T) {
	now := time.Now()
	q := Queue{Workers: []Worker{
		{Identity: "1@a wh=aaaa0000", Warehouse: "aaaa0000", LastSeen: now, Online: true},
		{Identity: "2@b wh=bbbb0000", Warehouse: "bbbb0000", LastSeen: now.Add(-time.Second), Online: true},
		{Identity: "3@c wh=cccc0000", Warehouse: "cccc0000", LastSeen: now.Add(-time.Hour)},
		{Identity: "4@d", LastSeen: now.Add(-time.Second), Online: true},
	}}
	assert.Len(t, q.Online(), 3)
	assert.Len(t, q.Offline(), 1)
	assert.Equal(t, now, q.LastSeen())
	assert.Equal(t, "wh=aaaa0000 (1@a), wh=bbbb0000 (2@b)", q.MixedWarehouses(), "offline and silent workers do not count")
	q.Workers[1].Warehouse = "aaaa0000"
	assert.Equal(t, "", q.MixedWarehouses())
}

func TestOfflineAfter(t *testing.T) {
	t.Setenv(OfflineAfterEnv, "")
	d, err := OfflineAfter()
	require.NoError(t, err)
	assert.Equal(t, DefaultOfflineAfter, d)
	assert.LessOrEqual(t, DefaultOfflineAfter, 90*time.Second, "the issue's bound")
	t.Setenv(OfflineAfterEnv, "10s")
	d, err = OfflineAfter()
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, d)
	for _, bad := range []string{"soon", "0s", "-5s"} {
		t.Setenv(OfflineAfterEnv, bad)
		_, err = OfflineAfter()
		require.ErrorContains(t, err, OfflineAfterEnv+`="`+bad+`": must be a positive duration`)
	}
}
