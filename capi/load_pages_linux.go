package main

// Load-time pages of the library's image, given back once loading is done.
//
// libgofka.so is ~14 MB, most of it read-only and file-backed: the
// dynamic relocation table (~1.4 MB, read once by the loader), the text
// (~6 MB) and the function tables (~4 MB). Loading touches far more of it
// than the engine uses later: the loader reads every relocation; the
// runtime and ~150 package inits run code spread over the whole text,
// and the kernel maps at least 64 KiB around each page touched (fault-
// around; more when the page cache holds the file in large folios, as
// after it was just written by a build or a pip install). Those pages
// stay mapped, so they count in the process's RSS for its lifetime: ~10
// MiB, where librdkafka costs ~5. Measured in Python processes on Kafka
// 4.4, the library's resident pages with the release below went:
//   - from 9 to 6 MiB in the poll(500) + commit(m) loop (peak RSS 47-49
//     -> 44-46 MiB, 4 runs each) and in 20,000 sequential `await send`
//     (peak 42-43 -> 39-40);
//   - from 10.4 to 6.1 MiB with produce + poll(0), 300,000 records.
// How much stays mapped depends on the page cache: where the kernel holds
// the file in large folios (it can, right after the file was written by a
// build or an install), one touch maps a whole folio, up to 2 MiB, and in
// one such run only the relocation table's ~1.4 MiB was saved.
//
// So, once at init, the read-only segments' pages are released with
// madvise(MADV_DONTNEED): the page tables drop them, the page cache keeps
// them, and a page used again later faults back in from the cache (a
// minor fault; the text and tables the engine keeps using come back
// within the first calls). Only segments that are never written qualify
// (no PF_W, outside PT_GNU_RELRO, whose pages hold the relocated data),
// and a segment with any private page (a debugger's breakpoint, a text
// relocation) is left as it is: dropping a private page would throw away
// its contents. Linux only; elsewhere nothing is released.

/*
#define _GNU_SOURCE
#include <link.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdint.h>

// 1 when a page of [start, start+len) is present or swapped but not
// file-backed (a private copy), or when /proc/self/pagemap cannot tell.
static int gofka_range_has_private_pages(uintptr_t start, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	uint64_t entries[512];
	size_t pages = len / (size_t)page, done = 0;
	int private = 0;
	while (done < pages && !private) {
		size_t n = pages - done < 512 ? pages - done : 512;
		off_t at = (off_t)((start / (uintptr_t)page + done) * sizeof(uint64_t));
		ssize_t got = pread(fd, entries, n * sizeof(uint64_t), at);
		if (got != (ssize_t)(n * sizeof(uint64_t))) {
			private = 1;
			break;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t e = entries[i];
			// bit 63 present, 62 swapped, 61 file page or shared anonymous
			if ((e >> 62) != 0 && !((e >> 61) & 1)) {
				private = 1;
				break;
			}
		}
		done += n;
	}
	close(fd);
	return private;
}

// Releases the pages of [start, start+len) (page-aligned) when none is a
// private copy. Returns the bytes released, 0 when left alone.
static size_t gofka_release_clean_pages(uintptr_t start, size_t len)
{
	if (len == 0 || gofka_range_has_private_pages(start, len))
		return 0;
	return madvise((void *)start, len, MADV_DONTNEED) == 0 ? len : 0;
}

struct gofka_image_walk {
	uintptr_t anchor;   // an address inside this library's text
	size_t released;    // bytes released
	int found;
};

static int gofka_release_image_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct gofka_image_walk *w = data;
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t relro_lo = 0, relro_hi = 0;
	int mine = 0;
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && w->anchor >= lo && w->anchor < lo + ph->p_memsz)
			mine = 1;
		if (ph->p_type == PT_GNU_RELRO) {
			relro_lo = lo & ~(page - 1);
			relro_hi = (lo + ph->p_memsz + page - 1) & ~(page - 1);
		}
	}
	if (!mine)
		return 0;
	w->found = 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		// Whole pages inside the segment's file-backed part only: a page
		// shared with a neighbouring segment stays.
		uintptr_t lo = (info->dlpi_addr + ph->p_vaddr + page - 1) & ~(page - 1);
		uintptr_t hi = (info->dlpi_addr + ph->p_vaddr + ph->p_filesz) & ~(page - 1);
		if (relro_hi > relro_lo && lo < relro_hi && hi > relro_lo)
			continue;
		if (hi > lo)
			w->released += gofka_release_clean_pages(lo, hi - lo);
	}
	return 1;
}

static void gofka_release_image_anchor(void) {}

// Releases the read-only pages of the object holding this code (the
// library; a test executable in tests). Returns the bytes released.
static size_t gofka_release_image_pages(void)
{
	struct gofka_image_walk w = {(uintptr_t)&gofka_release_image_anchor, 0, 0};
	dl_iterate_phdr(gofka_release_image_cb, &w);
	return w.released;
}
*/
import "C"

import "unsafe"

// loadPagesReleased is what init released, in bytes (read by tests).
var loadPagesReleased int

func init() { loadPagesReleased = int(C.gofka_release_image_pages()) }

// releaseCleanPages releases the pages of b (page-aligned, inside one
// mapping) unless one of them is a private copy; returns whether it did.
func releaseCleanPages(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	return C.gofka_release_clean_pages(C.uintptr_t(uintptr(unsafe.Pointer(&b[0]))), C.size_t(len(b))) != 0
}
