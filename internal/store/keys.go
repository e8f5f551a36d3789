package store

import (
	"hash/maphash"
	"sync"

	"github.com/blueprint-etl/blueprint/internal/transform"
)

// MemoryKeys is how many keys the duplicate checks of all the runs a
// worker process transforms at once may hold in its memory (Keys): some
// 20-40 MiB. A run's keys beyond its share go to the warehouse's stage_ids
// table, so that a worker holds no more whatever the size and the number
// of its runs; a run of up to about a million records that has the memory
// to itself writes none there, which spares Transform about half of its
// writes.
const MemoryKeys = 1 << 20

// keyBudget is what is left of MemoryKeys in this process.
var keyBudget = struct {
	sync.Mutex
	left int64
}{left: MemoryKeys}

// Keys is the part of a run's duplicate check across chunks that lives in
// the worker's memory: the keys of the valid records of the run's first
// chunks (MemoryChunks of them), for PutTransformChunk to check the later
// chunks against. The chunks after those keep their keys in stage_ids, as
// every chunk of a run does when there are no Keys.
//
// A key is held as two 64-bit hashes with seeds of the process's own, so a
// key costs 16 bytes whatever its length, no input can be made to
// collide, and two different keys pass for one with a probability of about
// 2^-128 for each pair.
//
// Keys belong to one attempt of a stage, and hold their share of
// MemoryKeys until Release. The line between memory and stage_ids is the
// run's: the first attempt draws it (NewKeys) and the transform checkpoint
// records it with the first chunk, and an attempt that resumes keeps it
// (ResumeKeys) and adds the keys of the committed chunks before it, read
// again. They are not safe for concurrent use.
type Keys struct {
	chunks   int   // chunks [0, chunks) hold their keys here
	reserved int64 // taken from keyBudget
	seeds    [2]maphash.Seed
	// set is an open-addressing hash table of the keys' hashes, probed
	// linearly from the first hash: the hashes are already uniform, so a
	// lookup is one hash and, mostly, one cache miss, where a Go map hashes
	// them again and probes its control words too (the check of a
	// million keys was a third of Transform's serial work). {0, 0} marks
	// an empty slot; a key that hashes to it is held as {0, 1}.
	set [][2]uint64
	n   int // keys held

	// recent holds the hashes of the keys of chunk recentSeq, one that
	// keeps its keys in stage_ids, once committed: the chunk after it
	// finds the near duplicates (a record sent again a page later) here,
	// so that its plain insert of the others (keepNewIDs) seldom meets one
	// of the database's and has to be undone.
	recent    map[[2]uint64]struct{}
	recentSeq int
}

// NewKeys returns the keys of a run's first attempt, for the records it
// staged in chunks (Extract's checkpoint): as many of the first chunks
// keep theirs in memory as what is left of MemoryKeys in this process
// allows, and the others in stage_ids.
func NewKeys(chunks int, records int64) *Keys {
	keyBudget.Lock()
	take := min(max(records, 0), max(keyBudget.left, 0))
	keyBudget.left -= take
	keyBudget.Unlock()
	n := chunks
	if take < records {
		n = int(int64(chunks) * take / records)
	}
	return newKeys(n, take)
}

// ResumeKeys returns the keys of an attempt that resumes a run whose
// first memoryChunks chunks keep their keys in memory, as its transform
// checkpoint says, of the records it staged in chunks. They take their
// share of MemoryKeys even past what is left: the line is the run's, and
// a run that resumes is rare.
func ResumeKeys(memoryChunks, chunks int, records int64) *Keys {
	need := int64(0)
	if chunks > 0 && records > 0 {
		need = records * int64(min(memoryChunks, chunks)) / int64(chunks)
	}
	keyBudget.Lock()
	keyBudget.left -= need
	keyBudget.Unlock()
	return newKeys(memoryChunks, need)
}

func newKeys(chunks int, reserved int64) *Keys {
	return &Keys{
		chunks:   chunks,
		reserved: reserved,
		seeds:    [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		set:      make([][2]uint64, tableSize(reserved)),
	}
}

// Release gives the keys' share of MemoryKeys back; the keys are not used
// after it.
func (k *Keys) Release() {
	if k == nil {
		return
	}
	keyBudget.Lock()
	keyBudget.left += k.reserved
	keyBudget.Unlock()
	k.reserved, k.set, k.n = 0, nil, 0
}

// MemoryChunks is how many of the run's first chunks keep their keys in
// memory.
func (k *Keys) MemoryChunks() int {
	if k == nil {
		return 0
	}
	return k.chunks
}

// InMemory reports whether chunk seq keeps its keys in memory; with no
// Keys, none does.
func (k *Keys) InMemory(seq int) bool { return k != nil && seq < k.chunks }

// Add adds the keys of a chunk's valid records.
func (k *Keys) Add(valid []transform.Valid) {
	for _, v := range valid {
		h := k.hash(v.ID())
		i, found := k.find(h)
		if found {
			continue
		}
		k.set[i] = h
		k.n++
		if k.n > len(k.set)/4*3 {
			k.grow()
		}
	}
}

// remember makes the keys of committed chunk seq, which keeps them in
// stage_ids, the recent ones.
func (k *Keys) remember(seq int, valid []transform.Valid) {
	if k == nil {
		return
	}
	if k.recent == nil {
		k.recent = make(map[[2]uint64]struct{}, len(valid))
	}
	clear(k.recent)
	for _, v := range valid {
		k.recent[k.hash(v.ID())] = struct{}{}
	}
	k.recentSeq = seq
}

// recentFor reports whether the recent keys are those of the chunk before
// seq.
func (k *Keys) recentFor(seq int) bool {
	return k != nil && len(k.recent) > 0 && k.recentSeq == seq-1
}

// Len is how many keys are held.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return k.n
}

// seenBefore reports whether key is held, or is one of the recent keys
// when they are the chunk before seq's (remember); with no Keys, it is
// not. The key is hashed once for both.
func (k *Keys) seenBefore(seq int, key string) bool {
	if k == nil {
		return false
	}
	recent := k.recentFor(seq)
	if k.n == 0 && !recent {
		return false
	}
	h := k.hash(key)
	if k.n > 0 {
		if _, found := k.find(h); found {
			return true
		}
	}
	if !recent {
		return false
	}
	_, ok := k.recent[h]
	return ok
}

// find returns the slot of h, or the empty slot where it would go.
func (k *Keys) find(h [2]uint64) (int, bool) {
	mask := uint64(len(k.set) - 1)
	for i := h[0] & mask; ; i = (i + 1) & mask {
		switch k.set[i] {
		case h:
			return int(i), true
		case [2]uint64{}:
			return int(i), false
		}
	}
}

// grow doubles the table: the keys of a run's first chunks may be a few
// more than the share their records were estimated at.
func (k *Keys) grow() {
	old := k.set
	k.set = make([][2]uint64, 2*len(old))
	for _, h := range old {
		if h != ([2]uint64{}) {
			i, _ := k.find(h)
			k.set[i] = h
		}
	}
}

func (k *Keys) hash(key string) [2]uint64 {
	h := [2]uint64{maphash.String(k.seeds[0], key), maphash.String(k.seeds[1], key)}
	if h == ([2]uint64{}) {
		h[1] = 1
	}
	return h
}

// tableSize is the slots of a table for n keys: a power of two that holds
// them at most three quarters full.
func tableSize(n int64) int {
	size := 16
	for int64(size)/4*3 < n {
		size *= 2
	}
	return size
}
