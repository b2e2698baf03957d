// Command tlogcheck checks a register's log the way a mirror or monitor would, with code the register's project
// did not write: golang.org/x/mod/sumdb/note (signed notes, Ed25519) and golang.org/x/mod/sumdb/tlog (tiles,
// RFC 6962 proofs). Debian ships both (golang-golang-x-mod-dev); build offline in GOPATH mode:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlogcheck ./tests/go/tlogcheck
//
// It fetches <prefix>/checkpoint and verifies its signature with the verifier key given, rebuilds the tree from
// the leaf hashes of the C2SP tlog-tiles level-0 tiles (tile/0/<N>[.p/<W>]) and compares its head with the
// checkpoint, checks every tile above level 0 against it, proves the inclusion of chosen leaves (their leaf
// hashes from the entry bundles, tile/leafhashes/<N>[.p/<W>]), and the consistency of an earlier checkpoint with the
// current one, from the tiles (tlog.ProveRecord/ProveTree) and from the register's own proof endpoints
// (tlog.CheckRecord/CheckTree on /bewijs/inclusie and /bewijs/consistentie). Each check prints "OK ..."; the first
// failure prints "FAILED ..." and exits 1.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8 // C2SP tlog-tiles: 256 hashes per tile

var client = &http.Client{Timeout: 30 * time.Second}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAILED "+format+"\n", args...)
	os.Exit(1)
}

func get(url string) []byte {
	resp, err := client.Get(url)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		fail("GET %s: %s", url, resp.Status)
	}
	return body
}

// checkpoint is a verified C2SP tlog-checkpoint.
type checkpoint struct {
	origin string
	tree   tlog.Tree
}

// openCheckpoint verifies the signed note with the verifier key and parses the checkpoint body (C2SP
// tlog-checkpoint: origin, size, base64 root hash, then extension lines). sumdb's own tlog.ParseTree expects its
// fixed origin "go.sum database tree", so the body is parsed here.
func openCheckpoint(signed []byte, verifiers note.Verifiers, origin string) checkpoint {
	n, err := note.Open(signed, verifiers)
	if err != nil {
		fail("checkpoint signature: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		fail("checkpoint body: %q", n.Text)
	}
	if lines[0] != origin {
		fail("checkpoint origin %q, expected %q", lines[0], origin)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var h tlog.Hash
	copy(h[:], root)
	return checkpoint{lines[0], tlog.Tree{N: size, Hash: h}}
}

// tiles reads C2SP tlog-tiles over HTTP. tlog's own tile paths are sumdb's, tile/<H>/<L>/<N>[.p/<W>]; C2SP drops
// the height (always 8), and names the data level "entries" instead of "data".
type tiles struct {
	prefix  string
	fetched map[tlog.Tile][]byte
	count   int
}

func c2spPath(t tlog.Tile) string {
	path := t.Path() // tile/8/<L>/<N>[.p/<W>]
	return "tile/" + strings.TrimPrefix(path, fmt.Sprintf("tile/%d/", height))
}

func (r *tiles) Height() int { return height }

func (r *tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		if data, ok := r.fetched[t]; ok {
			out[i] = data
			continue
		}
		data := get(r.prefix + "/" + c2spPath(t))
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("%s: %d bytes, expected %d", c2spPath(t), len(data), t.W*tlog.HashSize)
		}
		r.fetched[t] = data
		r.count++
		out[i] = data
	}
	return out, nil
}

func (r *tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// width is how many hashes tile n of level l has in the tree of size size (256 for a full tile).
func width(size int64, l int, n int64) int {
	have := size>>uint(l*height) - n<<height
	if have > 1<<height {
		return 1 << height
	}
	return int(have)
}

// rebuild recomputes the whole tree from the leaf hashes of every level-0 tile, the way a mirror does; it returns
// the tree's stored hashes (tlog's layout) and how many tiles it read.
//
// It does not lean on tlog.TileHashReader for this: in x/mod 0.7.0 that reader authenticates a full tile against
// its parent only when the tile comes after as many tiles as the tree head has subtrees, so a tampered full
// level-0 tile under a partial level-1 tile is not caught there (CheckRecord still rejects a proof through it).
func rebuild(r *tiles, size int64) ([]tlog.Hash, int) {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			if x < 0 || x >= int64(len(stored)) {
				return nil, fmt.Errorf("stored hash %d not rebuilt yet", x)
			}
			out[i] = stored[x]
		}
		return out, nil
	})
	leaf := int64(0)
	count := 0
	for n := int64(0); n<<height < size; n++ {
		t := tlog.Tile{H: height, L: 0, N: n, W: width(size, 0, n)}
		data, err := r.ReadTiles([]tlog.Tile{t})
		if err != nil {
			fail("%s: %v", c2spPath(t), err)
		}
		count++
		for i := 0; i < t.W; i++ {
			var h tlog.Hash
			copy(h[:], data[0][i*tlog.HashSize:])
			more, err := tlog.StoredHashesForRecordHash(leaf, h, reader)
			if err != nil {
				fail("rebuilding leaf %d: %v", leaf, err)
			}
			stored = append(stored, more...)
			leaf++
		}
	}
	return stored, count
}

// checkUpper checks every tile of the levels above 0 against the tree rebuilt from the leaves; it returns how many
// tiles it read.
func checkUpper(r *tiles, size int64, stored []tlog.Hash) int {
	count := 0
	for l := 1; size>>uint(l*height) > 0; l++ {
		for n := int64(0); n<<height < size>>uint(l*height); n++ {
			t := tlog.Tile{H: height, L: l, N: n, W: width(size, l, n)}
			data, err := r.ReadTiles([]tlog.Tile{t})
			if err != nil {
				fail("%s: %v", c2spPath(t), err)
			}
			count++
			for i := 0; i < t.W; i++ {
				want := stored[tlog.StoredHashIndex(l*height, n<<height+int64(i))]
				if !bytes.Equal(data[0][i*tlog.HashSize:(i+1)*tlog.HashSize], want[:]) {
					fail("%s: hash %d is not the subtree the level-0 tiles give", c2spPath(t), i)
				}
			}
		}
	}
	return count
}

// leafFromBundle reads the leaf hash of leaf i from its entry bundle: big-endian uint16 length-prefixed entries,
// in this register each entry being the 32-byte leaf hash itself (never the record).
func leafFromBundle(prefix string, i, n int64) tlog.Hash {
	t := tlog.Tile{H: height, L: -1, N: i >> height, W: 1 << height}
	if have := n - t.N<<height; have < 1<<height {
		t.W = int(have)
	}
	path := "tile/leafhashes/" + strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/data/", height))
	data := get(prefix + "/" + path)
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			fail("%s: truncated length prefix", path)
		}
		size := int(data[0])<<8 | int(data[1])
		if len(data) < 2+size {
			fail("%s: truncated entry", path)
		}
		entries = append(entries, data[2:2+size])
		data = data[2+size:]
	}
	if len(entries) != t.W {
		fail("%s: %d entries, expected %d", path, len(entries), t.W)
	}
	entry := entries[i-t.N<<height]
	if len(entry) != tlog.HashSize {
		fail("%s: entry of leaf %d is %d bytes, not a leaf hash", path, i, len(entry))
	}
	var h tlog.Hash
	copy(h[:], entry)
	return h
}

func hashes(b64 []string) []tlog.Hash {
	out := make([]tlog.Hash, len(b64))
	for i, s := range b64 {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != tlog.HashSize {
			fail("proof hash %q", s)
		}
		copy(out[i][:], raw)
	}
	return out
}

func main() {
	prefix := flag.String("prefix", "", "the log's tlog-tiles URL prefix, e.g. http://127.0.0.1:8000/verwerkingenlog")
	api := flag.String("api", "", "the register's integrity API, e.g. http://127.0.0.1:8000/api/v1/integriteit (optional)")
	vkey := flag.String("vkey", "", "the register's verifier key (note.NewVerifier format)")
	origin := flag.String("origin", "", "the expected checkpoint origin (default: the key's name)")
	old := flag.String("old", "", "a file holding an earlier signed checkpoint, to check consistency with (optional)")
	leaves := flag.String("leaves", "", "comma-separated leaf indexes to prove the inclusion of (optional)")
	flag.Parse()

	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fail("verifier key %q: %v", *vkey, err)
	}
	if *origin == "" {
		*origin = verifier.Name()
	}
	verifiers := note.VerifierList(verifier)
	current := openCheckpoint(get(*prefix+"/checkpoint"), verifiers, *origin)
	fmt.Printf("OK checkpoint signed by %s: size %d\n", verifier.Name(), current.tree.N)

	r := &tiles{prefix: *prefix, fetched: map[tlog.Tile][]byte{}}
	stored, count := rebuild(r, current.tree.N)
	head, err := tlog.TreeHash(current.tree.N, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = stored[x]
		}
		return out, nil
	}))
	if err != nil {
		fail("tree head from tiles: %v", err)
	}
	if head != current.tree.Hash {
		fail("tree head from tiles %s, checkpoint says %s", head, current.tree.Hash)
	}
	fmt.Printf("OK tree head recomputed from the %d leaf hashes of %d level-0 tiles: %s\n", current.tree.N, count, head)
	fmt.Printf("OK every tile above level 0 matches the leaves (%d tiles)\n", checkUpper(r, current.tree.N, stored))
	checked := tlog.TileHashReader(current.tree, r)

	if *leaves != "" {
		for _, field := range strings.Split(*leaves, ",") {
			i, err := strconv.ParseInt(field, 10, 64)
			if err != nil || i < 0 || i >= current.tree.N {
				fail("leaf index %q not in the tree of size %d", field, current.tree.N)
			}
			leaf := leafFromBundle(*prefix, i, current.tree.N)
			p, err := tlog.ProveRecord(current.tree.N, i, checked)
			if err != nil {
				fail("inclusion proof of leaf %d from tiles: %v", i, err)
			}
			if err := tlog.CheckRecord(p, current.tree.N, current.tree.Hash, i, leaf); err != nil {
				fail("inclusion of leaf %d (entry bundle hash %s): %v", i, leaf, err)
			}
			if *api != "" {
				var served struct {
					LeafHash string   `json:"leafHash"`
					Proof    []string `json:"proof"`
				}
				url := fmt.Sprintf("%s/bewijs/inclusie?leafIndex=%d&treeSize=%d", *api, i, current.tree.N)
				if err := json.Unmarshal(get(url), &served); err != nil {
					fail("%s: %v", url, err)
				}
				if hashes([]string{served.LeafHash})[0] != leaf {
					fail("leaf %d: the proof endpoint's leaf hash differs from the entry bundle's", i)
				}
				if err := tlog.CheckRecord(hashes(served.Proof), current.tree.N, current.tree.Hash, i, leaf); err != nil {
					fail("the register's inclusion proof of leaf %d: %v", i, err)
				}
			}
			fmt.Printf("OK leaf %d included: %s\n", i, leaf)
		}
	}

	if *old != "" {
		text, err := os.ReadFile(*old)
		if err != nil {
			fail("%s: %v", *old, err)
		}
		earlier := openCheckpoint(text, verifiers, *origin)
		if earlier.tree.N > current.tree.N {
			fail("the earlier checkpoint (size %d) is larger than the current one (%d)", earlier.tree.N, current.tree.N)
		}
		if earlier.tree.N > 0 {
			p, err := tlog.ProveTree(current.tree.N, earlier.tree.N, checked)
			if err != nil {
				fail("consistency proof from tiles: %v", err)
			}
			if err := tlog.CheckTree(p, current.tree.N, current.tree.Hash, earlier.tree.N, earlier.tree.Hash); err != nil {
				fail("consistency of size %d with size %d from tiles: %v", earlier.tree.N, current.tree.N, err)
			}
			if *api != "" {
				var served struct {
					Proof []string `json:"proof"`
				}
				url := fmt.Sprintf("%s/bewijs/consistentie?van=%d&tot=%d", *api, earlier.tree.N, current.tree.N)
				if err := json.Unmarshal(get(url), &served); err != nil {
					fail("%s: %v", url, err)
				}
				err := tlog.CheckTree(hashes(served.Proof), current.tree.N, current.tree.Hash, earlier.tree.N, earlier.tree.Hash)
				if err != nil {
					fail("the register's consistency proof from %d to %d: %v", earlier.tree.N, current.tree.N, err)
				}
			}
		}
		fmt.Printf("OK checkpoint of size %d consistent with size %d\n", earlier.tree.N, current.tree.N)
	}
}
