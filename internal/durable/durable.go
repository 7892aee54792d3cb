// Package durable writes small files so that a crash of the machine leaves
// either the old file or the whole new one, never an empty or partial one:
// the data is flushed before the rename, and the directory after it.
package durable

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteFile replaces the file at path with data, durably and atomically. A
// reader sees the old content or the new, and so does the next boot after a
// power cut once WriteFile returned.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes a rename, a creation or a removal in dir durable: the
// directory entry is data too.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
