package packed

import (
	"strings"
	"testing"
)

// The sizes gofka.h documents (GOFKA_ABI_VERSION 1): a change here is an
// ABI change.
func TestSizes(t *testing.T) {
	for _, c := range []struct {
		l      *Layout
		size   int
		format string
	}{
		{Event, 28, "<QiiqI"},
		{BatchResult, 16, "<iiq"},
		{PollHeader, 12, "<iii"},
		{MessageHead, 48, "<iiqqiiiiii"},
		{LogHead, 16, "<iqI"},
	} {
		if c.l.Size != c.size || c.l.StructFormat() != c.format {
			t.Errorf("%s: size %d format %s, want %d %s", c.l.Name, c.l.Size, c.l.StructFormat(), c.size, c.format)
		}
	}
}

func TestOffsetsArePacked(t *testing.T) {
	for _, l := range All() {
		at := 0
		for _, fl := range l.Fields {
			if fl.Offset != at {
				t.Errorf("%s.%s at %d, want %d", l.Name, fl.Name, fl.Offset, at)
			}
			at += fl.Type.Size()
		}
		if at != l.Size {
			t.Errorf("%s: size %d, fields end at %d", l.Name, l.Size, at)
		}
	}
}

// capi's packPoll writes each [start, end) range as one pair: every
// *_start field must be an int32 directly followed by its *_end.
func TestRangesArePairs(t *testing.T) {
	for _, l := range All() {
		for i, fl := range l.Fields {
			base, ok := strings.CutSuffix(fl.Name, "_start")
			if !ok {
				continue
			}
			if i+1 >= len(l.Fields) || l.Fields[i+1].Name != base+"_end" || fl.Type != Int32 || l.Fields[i+1].Type != Int32 {
				t.Errorf("%s.%s is not followed by an int32 %s_end", l.Name, fl.Name, base)
			}
		}
	}
}
