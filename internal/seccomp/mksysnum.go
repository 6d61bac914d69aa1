//go:build ignore

// mksysnum writes the per-architecture syscall tables (zsysnum_*.go) that
// the compiler resolves rule names with. Run it with `go generate` in this
// directory; it reads golang.org/x/sys's zsysnum_linux_<goarch>.go files
// for the version go.mod requires, from the module cache (`go mod download
// golang.org/x/sys` first if it is missing).
//
// x/sys is the source because it is already a dependency, is generated from
// the kernel's own unistd headers, and is versioned with go.mod, so the
// tables move only when the project bumps x/sys. Two things x/sys lacks are
// kept by hand below: the x32 ABI (its own numbers for the syscalls whose
// structures differ from x86_64's) and ARM's private syscalls.
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// table is one generated map: ident names it in Go, goarch picks the x/sys
// file it comes from.
type table struct {
	ident  string
	goarch string
	edit   func(map[string]uint32) map[string]uint32
}

var tables = []table{
	{ident: "X86_64", goarch: "amd64"},
	{ident: "X32", goarch: "amd64", edit: x32},
	{ident: "X86", goarch: "386"},
	{ident: "AARCH64", goarch: "arm64"},
	{ident: "ARM", goarch: "arm", edit: armPrivate},
	{ident: "MIPS", goarch: "mipsle"},
	{ident: "MIPS64", goarch: "mips64le"},
	{ident: "PPC", goarch: "ppc"},
	{ident: "PPC64", goarch: "ppc64le"},
	{ident: "S390X", goarch: "s390x"},
	{ident: "RISCV64", goarch: "riscv64"},
	{ident: "LOONGARCH64", goarch: "loong64"},
}

// x32Bit marks a syscall number as x32: the kernel shares AUDIT_ARCH_X86_64
// between the two ABIs and tells them apart by this bit.
const x32Bit = 0x40000000

// x32Own lists the syscalls that x32 does not take from x86_64's "common"
// numbers but gets its own entry for, from the kernel's
// arch/x86/entry/syscalls/syscall_64.tbl (ABI "x32", 512-547).
var x32Own = map[string]uint32{
	"rt_sigaction": 512, "rt_sigreturn": 513, "ioctl": 514, "readv": 515,
	"writev": 516, "recvfrom": 517, "sendmsg": 518, "recvmsg": 519,
	"execve": 520, "ptrace": 521, "rt_sigpending": 522, "rt_sigtimedwait": 523,
	"rt_sigqueueinfo": 524, "sigaltstack": 525, "timer_create": 526, "mq_notify": 527,
	"kexec_load": 528, "waitid": 529, "set_robust_list": 530, "get_robust_list": 531,
	"vmsplice": 532, "move_pages": 533, "preadv": 534, "pwritev": 535,
	"rt_tgsigqueueinfo": 536, "recvmmsg": 537, "sendmmsg": 538, "process_vm_readv": 539,
	"process_vm_writev": 540, "setsockopt": 541, "getsockopt": 542, "io_setup": 543,
	"io_submit": 544, "execveat": 545, "preadv2": 546, "pwritev2": 547,
}

// x32Missing are x86_64's ABI "64" entries with no x32 counterpart at all.
var x32Missing = []string{
	"uselib", "_sysctl", "create_module", "get_kernel_syms", "query_module",
	"nfsservctl", "getpmsg", "putpmsg", "afs_syscall", "tuxcall", "security",
	"set_thread_area", "get_thread_area", "epoll_ctl_old", "epoll_wait_old", "vserver",
}

func x32(amd64 map[string]uint32) map[string]uint32 {
	out := make(map[string]uint32, len(amd64))
	for name, nr := range amd64 {
		out[name] = nr | x32Bit
	}
	for name, nr := range x32Own {
		out[name] = nr | x32Bit
	}
	for _, name := range x32Missing {
		delete(out, name)
	}
	return out
}

// armPrivate adds the __ARM_NR_* syscalls (arch/arm/include/uapi/asm/unistd.h)
// that Docker's profile names for arm.
func armPrivate(arm map[string]uint32) map[string]uint32 {
	const base = 0x0f0000
	for name, off := range map[string]uint32{
		"breakpoint": 1, "cacheflush": 2, "usr26": 3, "usr32": 4, "set_tls": 5, "get_tls": 6,
	} {
		arm[name] = base + off
	}
	return arm
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("mksysnum: ")
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "golang.org/x/sys").Output()
	if err != nil {
		log.Fatalf("go list golang.org/x/sys: %v", err)
	}
	dir, version, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	for _, t := range tables {
		nums, err := parse(filepath.Join(dir, "unix", "zsysnum_linux_"+t.goarch+".go"))
		if err != nil {
			log.Fatal(err)
		}
		if t.edit != nil {
			nums = t.edit(nums)
		}
		// The _table suffix keeps names like zsysnum_arm.go from reading as
		// GOARCH build constraints.
		name := "zsysnum_" + strings.ToLower(t.ident) + "_table.go"
		if err := os.WriteFile(name, render(t, version, nums), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// parse reads the SYS_* constants of one x/sys file, named the way the
// kernel and libseccomp name them (lower case, SYS_ prefix dropped).
func parse(path string) (map[string]uint32, error) {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	nums := map[string]uint32{}
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			name := vs.Names[0].Name
			lit, ok := vs.Values[0].(*ast.BasicLit)
			if !ok || !strings.HasPrefix(name, "SYS_") || name == "SYS_SYSCALL_MASK" {
				continue
			}
			nr, err := strconv.ParseUint(lit.Value, 0, 32)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, name, err)
			}
			nums[strings.ToLower(strings.TrimPrefix(name, "SYS_"))] = uint32(nr)
		}
	}
	if len(nums) == 0 {
		return nil, fmt.Errorf("%s: no SYS_ constants", path)
	}
	return nums, nil
}

func render(t table, version string, nums map[string]uint32) []byte {
	names := make([]string, 0, len(nums))
	for name := range nums {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		if nums[names[i]] != nums[names[j]] {
			return nums[names[i]] < nums[names[j]]
		}
		return names[i] < names[j]
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by mksysnum.go from golang.org/x/sys %s (%s, %s); DO NOT EDIT.\n\n", version, t.goarch, t.ident)
	fmt.Fprintf(&b, "package seccomp\n\nfunc sysnum%s() map[string]uint32 {\n\treturn map[string]uint32{\n", t.ident)
	for _, name := range names {
		// Decimal as the kernel's tables print them; hex where a base or
		// flag bit is part of the number (x32, ARM private).
		verb := "\t%q: %d,\n"
		if nums[name] >= 0x10000 {
			verb = "\t%q: %#x,\n"
		}
		fmt.Fprintf(&b, verb, name, nums[name])
	}
	b.WriteString("}\n}\n")
	src, err := format.Source(b.Bytes())
	if err != nil {
		log.Fatalf("format %s: %v", t.ident, err)
	}
	return src
}
