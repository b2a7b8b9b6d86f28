//go:build !amd64 || purego

package nn

var (
	cellForward  = cellForwardGo
	cellBackward = cellBackwardGo
)
