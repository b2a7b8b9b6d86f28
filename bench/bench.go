// Package bench is `seqae bench`: Run times training and encoding on the
// peer benchmark's fixed workload, in memory, and TorchPeer is that
// benchmark's PyTorch side, torch_peer.py, embedded so that
// `seqae bench --peer` runs it from any directory.
//
// It is how seqae works inside, not a stable Go API: see docs/design.md §7.
package bench

import _ "embed"

// TorchPeer is the text of torch_peer.py.
//
//go:embed torch_peer.py
var TorchPeer []byte
