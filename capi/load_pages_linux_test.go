package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"
)

// residentPages counts the pages of b that /proc/self/pagemap shows
// present.
func residentPages(t *testing.T, b []byte) int {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := os.Getpagesize()
	buf := make([]byte, 8*(len(b)/page))
	if _, err := f.ReadAt(buf, int64(uintptr(unsafe.Pointer(&b[0]))/uintptr(page)*8)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := 0; i < len(buf); i += 8 {
		if binary.LittleEndian.Uint64(buf[i:])>>63 != 0 {
			n++
		}
	}
	return n
}

// mapFile maps a file of n pages (byte i of page p is p) privately.
func mapFile(t *testing.T, pages int, prot int) []byte {
	t.Helper()
	page := os.Getpagesize()
	data := make([]byte, pages*page)
	for p := 0; p < pages; p++ {
		for i := 0; i < page; i++ {
			data[p*page+i] = byte(p)
		}
	}
	path := filepath.Join(t.TempDir(), "image")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := syscall.Mmap(int(f.Fd()), 0, len(data), prot, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(b) })
	return b
}

// Loading released the read-only pages of the image holding capi (here
// the test executable; in use, libgofka.so).
func TestLoadReleasesTheImagesReadOnlyPages(t *testing.T) {
	if loadPagesReleased <= 0 {
		t.Fatalf("init released no read-only pages of the image (%d bytes)", loadPagesReleased)
	}
}

// Clean file pages are dropped from the page tables and read back
// unchanged from the page cache.
func TestReleaseDropsCleanFilePages(t *testing.T) {
	page := os.Getpagesize()
	b := mapFile(t, 32, syscall.PROT_READ)
	for p := 0; p < 32; p++ {
		if b[p*page] != byte(p) {
			t.Fatalf("page %d reads %d", p, b[p*page])
		}
	}
	if got := residentPages(t, b); got != 32 {
		t.Fatalf("%d of 32 pages resident after reading them all", got)
	}
	if !releaseCleanPages(b) {
		t.Fatal("clean file pages were not released")
	}
	if got := residentPages(t, b); got != 0 {
		t.Fatalf("%d pages still resident after the release", got)
	}
	for p := 0; p < 32; p++ {
		if b[p*page+7] != byte(p) {
			t.Fatalf("page %d reads %d after the release", p, b[p*page+7])
		}
	}
}

// A range holding a private copy (what a debugger's breakpoint or a
// relocation makes of a file page) is left alone: dropping it would lose
// the write.
func TestReleaseKeepsARangeWithAPrivatePage(t *testing.T) {
	page := os.Getpagesize()
	b := mapFile(t, 8, syscall.PROT_READ|syscall.PROT_WRITE)
	_ = b[0]
	b[3*page+1] = 0xEE
	if releaseCleanPages(b) {
		t.Fatal("a range with a written private page was released")
	}
	if b[3*page+1] != 0xEE {
		t.Fatalf("the private page lost its write: %#x", b[3*page+1])
	}
	if residentPages(t, b) == 0 {
		t.Fatal("no page resident: the range was dropped")
	}
}
