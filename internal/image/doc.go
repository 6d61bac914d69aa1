//go:build linux

// Package image is pier's image store: content-addressed blobs, image
// records, a name:tag index, and unpacked layers (through
// internal/snapshot), with pull and push (through go-containerregistry),
// docker save/load and OCI layouts, import and export.
//
// Identities are Docker's: an image's id is the digest of its config blob,
// its repo digest the digest of the manifest (or index) a registry serves.
//
// On-disk layout under the root:
//
//	blobs/sha256/<hex>       manifests, configs and compressed layers
//	ingest/                  blobs being written; emptied by New
//	images/<id hex>.json     one record per image (Image)
//	repositories.json        name:tag and name@digest -> image id
//	snapshots/               unpacked layers and container writable layers
//
// Every file appears by rename after it is complete, in this order: blobs,
// snapshots, record, index. A crash at any point leaves at worst
// unreferenced blobs and snapshots, which GC removes, and never a visible
// image with missing parts. The one blob that may be missing is a lazy
// layer's (lazy.go): a BuildKit-built layer stored as its files, whose
// uncompressed tar is made again from them, and checked against its
// digest, when something reads it.
package image
