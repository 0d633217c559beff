//go:build tools

// Package toolchain pins the Pulumi CLI that the tests run (build.sh builds it from this module).
package toolchain

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
