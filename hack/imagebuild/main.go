// Command imagebuild packs a directory into a one-layer container image and
// writes it as a docker-archive tarball that `ctr images import` reads. It is
// how make up builds every image it runs (pause, manager, agent, the demo's
// nginx, the e2e probe) without a Docker engine or a registry.
//
//	imagebuild -root DIR -tag seccomp-operator/manager:dev -o manager.tar \
//	    -entrypoint /manager [-cmd ARG]... [-env K=V]... [-user 65532] [-workdir /]
//
// The layer is reproducible: entries are sorted, owned by root and dated at
// the epoch, so an unchanged directory gives an unchanged image digest.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var root, tag, out, user, workdir, arch string
	var entrypoint, cmd, env list
	flag.StringVar(&root, "root", "", "directory whose contents become the image's file system")
	flag.StringVar(&tag, "tag", "", "image reference, e.g. seccomp-operator/agent:dev")
	flag.StringVar(&out, "o", "", "output docker-archive tarball")
	flag.Var(&entrypoint, "entrypoint", "entrypoint word (repeat)")
	flag.Var(&cmd, "cmd", "cmd word (repeat)")
	flag.Var(&env, "env", "KEY=VALUE (repeat)")
	flag.StringVar(&user, "user", "", "user to run as")
	flag.StringVar(&workdir, "workdir", "/", "working directory")
	flag.StringVar(&arch, "arch", runtime.GOARCH, "image architecture")
	flag.Parse()
	if root == "" || tag == "" || out == "" {
		fmt.Fprintln(os.Stderr, "imagebuild: -root, -tag and -o are required")
		os.Exit(2)
	}
	if err := build(root, tag, out, arch, v1.Config{
		Entrypoint: entrypoint, Cmd: cmd, Env: env, User: user, WorkingDir: workdir,
	}); err != nil {
		fmt.Fprintf(os.Stderr, "imagebuild: %v\n", err)
		os.Exit(1)
	}
}

func build(root, tag, out, arch string, cfg v1.Config) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", tag, err)
	}
	layerTar, err := tarDir(root)
	if err != nil {
		return fmt.Errorf("pack %s: %w", root, err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config = cfg
	cf.Created = v1.Time{Time: time.Unix(0, 0).UTC()}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}

// tarDir returns an uncompressed tar of dir's contents with paths relative
// to dir, symlinks kept as links, owner root and a fixed time.
func tarDir(dir string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "root", "root"
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = time.Unix(0, 0), time.Time{}, time.Time{}
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
