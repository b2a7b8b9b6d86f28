// Package bench holds seqae's PyTorch peer benchmark, torch_peer.py, the
// model of `seqae bench` in PyTorch, embedded so that `seqae bench --peer`
// runs it from any directory.
package bench

import _ "embed"

// TorchPeer is the text of torch_peer.py.
//
//go:embed torch_peer.py
var TorchPeer []byte
