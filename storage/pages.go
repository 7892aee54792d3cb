package storage

import "sync"

// pagePool keeps the slices that ForEachFrom and ForEachWithStatus read
// their pages into. A listing of a million pins reads a thousand pages;
// allocated afresh, they were most of its garbage.
type pagePool[T any] struct{ pool sync.Pool }

var (
	pinPages    pagePool[Pin]
	statusPages pagePool[LocalStatus]
)

// get returns an empty page with room for limit items, or for 1024 when
// limit is larger: most pages fill that far.
func (pp *pagePool[T]) get(limit int) []T {
	if p, ok := pp.pool.Get().(*[]T); ok {
		return (*p)[:0]
	}
	return make([]T, 0, min(limit, 1024))
}

// put takes back a page once its items have been handed out by value.
func (pp *pagePool[T]) put(page []T) {
	clear(page)
	page = page[:0]
	pp.pool.Put(&page)
}
