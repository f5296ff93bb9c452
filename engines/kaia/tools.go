//go:build tools

// Package tools pins the Kaia engine that `make engines` (part of `make install`) builds into
// .engines/bin: kscn, a service-chain consensus node (Istanbul BFT validator), and homi, which
// generates the genesis, the validators' keys and the static peers. go.mod and go.sum pin every module;
// nothing of Kaia is vendored or committed.
package tools

import (
	_ "github.com/kaiachain/kaia/cmd/homi"
	_ "github.com/kaiachain/kaia/cmd/kscn"
)
