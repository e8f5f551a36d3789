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
	set      map[[2]uint64]struct{}
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
		set:      make(map[[2]uint64]struct{}, reserved),
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
	k.reserved, k.set = 0, nil
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
		k.set[k.hash(v.ID())] = struct{}{}
	}
}

// Len is how many keys are held.
func (k *Keys) Len() int {
	if k == nil {
		return 0
	}
	return len(k.set)
}

// has reports whether key is held; with no Keys, it is not.
func (k *Keys) has(key string) bool {
	if k == nil {
		return false
	}
	_, ok := k.set[k.hash(key)]
	return ok
}

func (k *Keys) hash(key string) [2]uint64 {
	return [2]uint64{maphash.String(k.seeds[0], key), maphash.String(k.seeds[1], key)}
}
