package core

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// goListDeps returns the packages pkg links (go list -deps: its imports,
// transitively, without test files), or fails the test.
func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	// go test puts its own toolchain first on PATH. CGO_ENABLED=1 so that
	// the cgo files of capi are listed whatever the environment says.
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, msg)
	}
	return strings.Fields(string(out))
}

// The dev cluster lives in package devcluster so that a Go program
// importing the client does not link a fake broker (issue 21): neither
// core nor wire may depend on devcluster, kfake or any other part of
// franz-go (kfake pulls in kgo, kmsg and kbin), while devcluster does
// link kfake and the C ABI links devcluster (gofka_devcluster_*).
func TestClientDoesNotLinkTheDevCluster(t *testing.T) {
	const (
		devcluster = "github.com/gofka/gofka/devcluster"
		kfake      = "github.com/twmb/franz-go/pkg/kfake"
	)
	for _, pkg := range []string{"github.com/gofka/gofka/core", "github.com/gofka/gofka/wire", "github.com/gofka/gofka/internal/ppoll"} {
		var bad []string
		for _, d := range goListDeps(t, pkg) {
			if d == devcluster || strings.HasPrefix(d, "github.com/twmb/franz-go/") {
				bad = append(bad, d)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s links the dev cluster or franz-go: %v", pkg, bad)
		}
	}
	has := func(pkg, want string) {
		for _, d := range goListDeps(t, pkg) {
			if d == want {
				return
			}
		}
		t.Errorf("%s does not link %s", pkg, want)
	}
	has(devcluster, kfake)
	has("github.com/gofka/gofka/capi", devcluster)
}

// Completion is an engine concept (issue 21): the waits on sockets and
// wake-up pipes live in core, and the C ABI only translates, so capi
// imports neither internal/ppoll nor syscall.
func TestCAPIDoesNoSocketIO(t *testing.T) {
	cmd := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, "github.com/gofka/gofka/capi")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	out, err := cmd.Output()
	require.NoError(t, err)
	for _, imp := range strings.Fields(string(out)) {
		if imp == "github.com/gofka/gofka/internal/ppoll" || imp == "syscall" {
			t.Errorf("capi imports %s: waiting and socket I/O belong to core", imp)
		}
	}
}
