//go:build linux

// Package snapshot keeps image layers unpacked on disk and makes container
// root filesystems from them with overlayfs.
//
// Each layer lives once, in its own directory named by its chain id (the
// digest that names a layer together with everything below it), with a
// "parent" file naming the chain id below. A container's rootfs is one
// overlay mount of the chain, top layer first, plus an upper and a work
// directory owned by the container: its cost does not grow with the size of
// the image.
//
// On-disk layout under the root:
//
//	layers/<chain hex>/fs        the layer's files, whiteouts in overlay form
//	layers/<chain hex>/parent    chain id of the layer below ("" at the base)
//	active/<id>/upper, work      a container's writable layer
//	active/<id>/parent           chain id of its top layer
//	tmp/                         unpacks in progress; emptied by New
//
// A layer appears under layers/ only by rename, after its content is on
// disk, so a crash never leaves a half-unpacked layer visible.
package snapshot
