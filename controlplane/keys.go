package controlplane

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/nscale/nscale/internal/secretfile"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/nscale/nscale/internal/taskplan"
	"github.com/nscale/nscale/presign"
)

// loadOrCreateToken reads a bearer token from path, creating the file with
// a random token (mode 0600) if it does not exist, so the embedded default
// needs no setup. created reports a new file.
func loadOrCreateToken(path, key string) (tok []byte, created bool, err error) {
	if path == "" {
		return nil, false, fmt.Errorf("%s is not set", key)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, false, err
		}
		t := hex.EncodeToString(raw)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, fmt.Errorf("%s: %w", key, err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", key, err)
		}
		_, werr := f.WriteString(t + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, false, fmt.Errorf("%s: %w", key, werr)
		}
		return []byte(t), true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", key, err)
	}
	// A token other users may read is refused, like every secret file.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", key, err)
	}
	if err := secretfile.CheckMode(key+" "+path, fi); err != nil {
		return nil, false, err
	}
	t := strings.TrimSpace(string(b))
	if len(t) < 16 {
		return nil, false, fmt.Errorf("%s %s: token is shorter than 16 characters", key, path)
	}
	return []byte(t), false, nil
}

// ticketSigner loads the signing key (creating it on first start) and the
// retired keys, which verify but do not sign.
func (s *Server) ticketSigner() (*taskplan.Signer, error) {
	pc := s.cfg.Planner
	id, priv, err := taskplan.ReadPrivateKeyFile(pc.SigningKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		if id, priv, err = taskplan.GenerateKey(); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(pc.SigningKeyFile), 0o700); err != nil {
			return nil, fmt.Errorf("planner.signing_key_file: %w", err)
		}
		if err := taskplan.WritePrivateKeyFile(pc.SigningKeyFile, id, priv); err != nil {
			return nil, fmt.Errorf("planner.signing_key_file: %w", err)
		}
		s.log.Warn("created a new ticket signing key; every replica must share it", "file", pc.SigningKeyFile, "key_id", id)
	} else if err != nil {
		return nil, fmt.Errorf("planner.signing_key_file: %w", err)
	}
	signer, err := taskplan.NewSigner(id, priv)
	if err != nil {
		return nil, fmt.Errorf("planner.signing_key_file: %w", err)
	}
	for _, f := range pc.RetiredKeyFiles {
		rid, rpriv, err := taskplan.ReadPrivateKeyFile(f)
		if err != nil {
			return nil, fmt.Errorf("planner.retired_key_files %s: %w", f, err)
		}
		if err := signer.AddKey(rid, rpriv); err != nil {
			return nil, fmt.Errorf("planner.retired_key_files %s: %w", f, err)
		}
	}
	return signer, nil
}

// ticketSealer loads the sealing key (creating it on first start) and the
// retired ones, which open tickets but seal nothing.
func (s *Server) ticketSealer() (*taskplan.Sealer, error) {
	pc := s.cfg.Planner
	if _, err := os.Stat(pc.SealingKeyFile); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(pc.SealingKeyFile), 0o700); err != nil {
			return nil, fmt.Errorf("planner.sealing_key_file: %w", err)
		}
		defer s.log.Warn("created a new ticket sealing key; every replica must share it", "file", pc.SealingKeyFile)
	}
	current, err := presign.LoadOrCreateKeyFile(pc.SealingKeyFile)
	if err != nil {
		return nil, fmt.Errorf("planner.sealing_key_file: %w", err)
	}
	var retired [][]byte
	for _, f := range pc.RetiredSealingKeyFiles {
		k, err := presign.LoadKeyFile(f)
		if err != nil {
			return nil, fmt.Errorf("planner.retired_sealing_key_files %s: %w", f, err)
		}
		retired = append(retired, k)
	}
	sealer, err := taskplan.NewSealer(current, retired...)
	if err != nil {
		return nil, fmt.Errorf("planner.sealing_key_file: %w", err)
	}
	return sealer, nil
}
