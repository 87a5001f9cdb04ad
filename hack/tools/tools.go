//go:build tools

// Package tools pins the code generators parquetrail runs, in a module of
// their own so that their dependencies stay out of the main module.
package tools

import (
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
