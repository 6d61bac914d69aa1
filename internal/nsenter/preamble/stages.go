package preamble

// Go wrappers of the C init's stages (cinit.h), for stages_test.go: cgo
// may not appear in a test file. Nothing else calls them; the stages run
// in the container's process, from the plan.

// #define _GNU_SOURCE
// #include <fcntl.h>
// #include <stdlib.h>
// #include "cinit.h"
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"
)

func stageErr(e *C.struct_pier_err) error {
	text := C.GoString(&e.text[0])
	if e.err == 0 {
		return errors.New(text)
	}
	return fmt.Errorf("%s: %w", text, syscall.Errno(e.err))
}

func cstr(s string) (*C.char, func()) {
	p := C.CString(s)
	return p, func() { C.free(unsafe.Pointer(p)) }
}

// PlanOp is one operation as the C side parsed it.
type PlanOp struct {
	Op   uint32
	Args [4]uint64
	Text [][]byte
}

// ParsePlan parses a plan's body (what follows its 16-byte header) with
// the C init's parser.
func ParsePlan(body []byte, nops uint32) ([]PlanOp, error) {
	buf := C.CBytes(body)
	defer C.free(buf)
	var ops *C.struct_pier_op
	var e C.struct_pier_err
	rc := C.pier_plan_parse((*C.char)(buf), C.size_t(len(body)), C.uint32_t(nops), &ops, &e)
	defer C.pier_plan_free(ops, C.uint32_t(nops))
	if rc != 0 {
		return nil, stageErr(&e)
	}
	out := make([]PlanOp, nops)
	list := unsafe.Slice(ops, nops)
	for i, op := range list {
		out[i].Op = uint32(op.op)
		for j := range out[i].Args {
			out[i].Args[j] = uint64(op.arg[j])
		}
		strs := unsafe.Slice(op.s, op.nstr)
		lens := unsafe.Slice(op.len, op.nstr)
		for j := range strs {
			out[i].Text = append(out[i].Text, C.GoBytes(unsafe.Pointer(strs[j]), C.int(lens[j])))
		}
	}
	return out, nil
}

// MkdirInRoot is the C init's mkdir -p inside root.
func MkdirInRoot(root, path string, mode uint32) error {
	r, fr := cstr(root)
	defer fr()
	p, fp := cstr(path)
	defer fp()
	var fd C.int
	var e C.struct_pier_err
	if C.pier_mkdir_in_root(r, p, C.mode_t(mode), &fd, &e) != 0 {
		return stageErr(&e)
	}
	syscall.Close(int(fd))
	return nil
}

// MkfileInRoot is the C init's mount target for a file inside root.
func MkfileInRoot(root, path string) error {
	r, fr := cstr(root)
	defer fr()
	p, fp := cstr(path)
	defer fp()
	var fd C.int
	var e C.struct_pier_err
	if C.pier_mkfile_in_root(r, p, 0o644, &fd, &e) != 0 {
		return stageErr(&e)
	}
	syscall.Close(int(fd))
	return nil
}

// OpenInRoot opens path inside root O_PATH and reports what it reached.
func OpenInRoot(root, path string) (syscall.Stat_t, error) {
	r, fr := cstr(root)
	defer fr()
	p, fp := cstr(path)
	defer fp()
	var fd C.int
	var e C.struct_pier_err
	var st syscall.Stat_t
	if C.pier_open_in_root(r, p, C.O_PATH, &fd, &e) != 0 {
		return st, stageErr(&e)
	}
	defer syscall.Close(int(fd))
	return st, syscall.Fstat(int(fd), &st)
}

// OpenDevNull is the masks' check of root's /dev/null.
func OpenDevNull(root string) error {
	r, fr := cstr(root)
	defer fr()
	var fd C.int
	var e C.struct_pier_err
	if C.pier_open_devnull(r, &fd, &e) != 0 {
		return stageErr(&e)
	}
	syscall.Close(int(fd))
	return nil
}

// OpenProc is the check that dir is the root of a procfs.
func OpenProc(dir string) error {
	d, fd0 := cstr(dir)
	defer fd0()
	var fd C.int
	var e C.struct_pier_err
	if C.pier_open_proc(d, &fd, &e) != 0 {
		return stageErr(&e)
	}
	syscall.Close(int(fd))
	return nil
}

// HomeOf is HOME for uid from an /etc/passwd text.
func HomeOf(passwd string, uid uint32) string {
	p, fp := cstr(passwd)
	defer fp()
	var buf [4096]C.char
	C.pier_home_of(p, C.uint32_t(uid), &buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0])
}

// LookPath is the C init's execvp search.
func LookPath(name, path string) (string, error) {
	n, fn := cstr(name)
	defer fn()
	p, fp := cstr(path)
	defer fp()
	var buf [4096]C.char
	var e C.struct_pier_err
	if C.pier_lookpath(n, p, &buf[0], C.size_t(len(buf)), &e) != 0 {
		return "", stageErr(&e)
	}
	return C.GoString(&buf[0]), nil
}
