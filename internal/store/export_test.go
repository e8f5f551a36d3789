package store

// TakeSideWrites takes every side write of s (see loadChunk) until the
// returned function gives them back: chunk writes with a turn then wait
// for it before they begin.
func TakeSideWrites(s *Store) (giveBack func()) {
	n := cap(s.sideWrites)
	for range n {
		s.sideWrites <- struct{}{}
	}
	return func() {
		for range n {
			<-s.sideWrites
		}
	}
}
