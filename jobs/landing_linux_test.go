package jobs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// While the last shard of a date lands, no reader sees _SUCCESS before
// every part file: inotify records, in order, each name that appears in or
// leaves a table's partition, and replaying them shows which files were
// there when _SUCCESS appeared.
func TestShardedDateCompletesLast(t *testing.T) {
	t.Parallel()
	in, _ := smallData(t)
	cfg := smallJob(t, in, "run=train")
	mustRun(t, cfg, Options{Date: day1})
	enc := *cfg
	enc.Run = RunEncode
	mustRun(t, &enc, Options{Date: day1, Shard: Shard{0, 2}})

	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Skipf("inotify: %v", err)
	}
	defer unix.Close(fd)
	tables := map[int32]string{}
	present := map[string][]string{}
	for _, table := range []string{TableQuarantine, TableStepLosses, TableLatents} {
		live := filepath.Join(cfg.Output.Dir, table, "dt="+day1)
		wd, err := unix.InotifyAddWatch(fd, live, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_DELETE|unix.IN_MOVED_FROM)
		if err != nil {
			t.Fatal(err)
		}
		tables[int32(wd)] = table
		entries, err := os.ReadDir(live)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			present[table] = append(present[table], e.Name())
		}
	}
	mustRun(t, &enc, Options{Date: day1, Shard: Shard{1, 2}})

	parts := []string{"part-00000-of-00002.parquet", "part-00001-of-00002.parquet"}
	completed := map[string]bool{}
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off < n; {
			var ev unix.InotifyEvent
			binary.Read(bytes.NewReader(buf[off:off+unix.SizeofInotifyEvent]), binary.NativeEndian, &ev)
			name := string(bytes.TrimRight(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)], "\x00"))
			off += unix.SizeofInotifyEvent + int(ev.Len)
			if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
				t.Fatal("inotify queue overflowed")
			}
			table := tables[ev.Wd]
			if ev.Mask&(unix.IN_DELETE|unix.IN_MOVED_FROM) != 0 {
				present[table] = slices.DeleteFunc(present[table], func(s string) bool { return s == name })
				continue
			}
			present[table] = append(present[table], name)
			if name != SuccessFile {
				continue
			}
			completed[table] = true
			for _, p := range parts {
				if !slices.Contains(present[table], p) {
					t.Errorf("%s: _SUCCESS appeared when the partition held %v, without %s", table, present[table], p)
				}
			}
		}
	}
	for _, table := range tables {
		if !completed[table] {
			t.Errorf("%s: no _SUCCESS appeared while the last shard landed", table)
		}
	}
}
