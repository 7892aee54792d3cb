//go:build !unix

package folderlock

import "os"

// lockFile takes no lock where flock(2) does not exist: the files' own
// locks are then all there is.
func lockFile(*os.File) error { return nil }
