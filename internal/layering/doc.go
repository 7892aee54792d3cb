// Package layering holds the test that keeps the package layout honest: it
// lists every package's imports and fails on any that docs/architecture.md
// forbids. It has no code of its own.
package layering
