package chart

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// No Docker engine runs here, so the images are checked for what can be
// checked without one: the binaries build as the Dockerfile builds them,
// static and with the zone database inside, and each image puts its binary
// where the operator and the chart run it.

func TestBinariesAreStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries")
	}
	out := t.TempDir()
	// The Dockerfile's build commands: both binaries pure Go, and
	// shard-worker with libdeflate (INFLATE=libdeflate), linked statically.
	builds := []struct{ name, pkg, cgo, tags, ldflags string }{
		{"shard-worker", "./shard-worker", "0", "", "-s -w -X main.version=test"},
		{"manager", "./cmd/manager", "0", "", "-s -w -X main.version=test"},
		{"shard-worker-libdeflate", "./shard-worker", "1", "libdeflate,netgo,osusergo", "-s -w -X main.version=test -linkmode external -extldflags -static"},
	}
	if err := exec.Command(filepath.Join(Root(), "hack", "libdeflate.sh")).Run(); err != nil {
		if os.Getenv("PARQUETRAIL_REQUIRE_ALL") != "" {
			t.Fatalf("hack/libdeflate.sh: %v (make libdeflate installs libdeflate-dev)", err)
		}
		t.Logf("no libdeflate here (hack/libdeflate.sh: %v): its build is not checked", err)
		builds = builds[:2]
	}
	for _, b := range builds {
		bin := filepath.Join(out, b.name)
		cmd := exec.Command("go", "build", "-trimpath", "-tags", b.tags, "-ldflags", b.ldflags, "-o", bin, b.pkg)
		cmd.Dir = Root()
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo, "GOOS=linux")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s with CGO_ENABLED=%s: %v\n%s", b.name, b.cgo, err, msg)
		}
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s asks for a dynamic loader: it would not run on distroless/static", b.name)
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Errorf("%s needs shared libraries %v", b.name, libs)
		}
		f.Close()
		// Zones never depend on the image's zone database.
		list := exec.Command("go", "list", "-deps", b.pkg)
		list.Dir = Root()
		deps, err := list.Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", b.pkg, err)
		}
		if !strings.Contains("\n"+string(deps), "\ntime/tzdata\n") {
			t.Errorf("%s does not embed time/tzdata", b.name)
		}
	}
}

// stage is one FROM ... AS name of the Dockerfile.
type stage struct {
	from       string
	copies     []string // COPY --from=build lines' destinations
	entrypoint string
	user       string
}

func TestDockerfile(t *testing.T) {
	f, err := os.Open(filepath.Join(Root(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	stages := map[string]*stage{}
	var cur *stage
	var build strings.Builder
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		fields := strings.Fields(line)
		if len(fields) == 0 || strings.HasPrefix(line, "#") {
			continue
		}
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			cur = &stage{from: fields[len(fields)-3]}
			stages[fields[len(fields)-1]] = cur
		case "COPY":
			if cur != nil && strings.HasPrefix(fields[1], "--from=") {
				cur.copies = append(cur.copies, fields[len(fields)-1])
			}
		case "ENTRYPOINT":
			cur.entrypoint = strings.TrimPrefix(line, fields[0]+" ")
		case "USER":
			cur.user = fields[1]
		}
		if cur == stages["build"] {
			build.WriteString(line + "\n")
		}
	}
	if !strings.Contains(build.String(), "CGO_ENABLED=0") || !strings.Contains(build.String(), "-trimpath") ||
		!strings.Contains(build.String(), "-extldflags -static") {
		t.Errorf("the build stage does not build static binaries:\n%s", build.String())
	}
	// The operator runs /shard-worker in the worker pods (controllers'
	// workerCommand); the chart runs /manager.
	for name, bin := range map[string]string{"worker": "/shard-worker", "manager": "/manager"} {
		st := stages[name]
		if st == nil {
			t.Errorf("no %s stage", name)
			continue
		}
		if !strings.HasPrefix(st.from, "gcr.io/distroless/static") || !strings.HasSuffix(st.from, ":nonroot") {
			t.Errorf("%s: base %s is not distroless/static (CA certificates, tzdata, no shell) as non-root", name, st.from)
		}
		if len(st.copies) != 1 || st.copies[0] != bin || st.entrypoint != `["`+bin+`"]` {
			t.Errorf("%s: copies %v, entrypoint %s; want only %s", name, st.copies, st.entrypoint, bin)
		}
		if st.user != "65532:65532" {
			t.Errorf("%s: user %q, want 65532:65532 (the worker pods' runAsUser)", name, st.user)
		}
	}
}
