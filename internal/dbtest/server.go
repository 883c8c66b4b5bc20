package dbtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timeouts of a server's steps; generous, since a loaded 2-core CI machine
// runs several test binaries at once.
const (
	initTimeout  = 2 * time.Minute
	readyTimeout = time.Minute
	stopTimeout  = 30 * time.Second
)

// Server is a database server a test uses: one this package started (which
// can be stopped and started again), or an external one named by a DSN.
type Server struct {
	kind     Kind
	external bool
	dsn      string

	dir  string // owns data/, the socket, the log
	port int
	uid  *syscall.Credential // PostgreSQL's account when the tests run as root

	mu   sync.Mutex
	proc *process
}

// Kind is the server's product.
func (s *Server) Kind() Kind { return s.kind }

// External reports whether the server was named by a DSN (it cannot be
// stopped).
func (s *Server) External() bool { return s.external }

// Port is the server's loopback TCP port (0 for an external server).
func (s *Server) Port() int { return s.port }

// DSN is an administrative DSN: the postgres superuser on the postgres
// database, or MySQL's root with no database.
func (s *Server) DSN() string {
	if s.external {
		return s.dsn
	}
	if s.kind == MySQL {
		return fmt.Sprintf("root@tcp(127.0.0.1:%d)/", s.port)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Running reports whether the server process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.external || (s.proc != nil && !s.proc.exited())
}

// create makes the server's directory and initialises its data directory.
func create(k Kind) (*Server, error) {
	dir, err := os.MkdirTemp("", "nscale-dbtest-"+string(k)+"-")
	if err != nil {
		return nil, err
	}
	s := &Server{kind: k, dir: dir}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	if k == Postgres && os.Geteuid() == 0 {
		cred, err := unprivileged()
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		s.uid = cred
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	var cmd *exec.Cmd
	switch k {
	case Postgres:
		cmd = exec.Command(pgBin("initdb"), "-D", s.dataDir(), "-A", "trust", "-U", "postgres",
			"-E", "UTF8", "--locale=C", "--no-sync")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.uid, Pdeathsig: syscall.SIGKILL}
	case MySQL:
		args := []string{"--no-defaults", "--datadir=" + s.dataDir(), "--auth-root-authentication-method=normal", "--skip-test-db"}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd = exec.Command(mysqlBin("mariadb-install-db"), args...)
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.Dir = dir
	out, err := runBounded(cmd, initTimeout)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: %s: %w\n%s", k, filepath.Base(cmd.Path), err, tail(out, 20))
	}
	return s, nil
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) logFile() string { return filepath.Join(s.dir, "server.log") }

// Start starts the server (again, after Stop) and waits until it accepts
// connections. The first start picks a free loopback port; later ones reuse it.
func (s *Server) Start() error {
	if s.external {
		return fmt.Errorf("%s: the server from %s is not this test's to start", s.kind, EnvDSN(s.kind))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil && !s.proc.exited() {
		return nil
	}
	fresh := s.port == 0
	for attempt := 0; ; attempt++ {
		if fresh {
			p, err := freePort()
			if err != nil {
				return err
			}
			s.port = p
		}
		p, err := s.launch()
		if err == nil {
			s.proc = p
			return nil
		}
		// Another process took the port between the probe and the bind.
		if fresh && attempt < 5 && strings.Contains(err.Error(), "already in use") {
			continue
		}
		return err
	}
}

func (s *Server) launch() (*process, error) {
	var cmd *exec.Cmd
	var ready string
	switch s.kind {
	case Postgres:
		cmd = exec.Command(pgBin("postgres"), "-D", s.dataDir(), "-p", strconv.Itoa(s.port), "-k", s.dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
			// Throwaway data: durability buys nothing here.
			"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
		ready = "database system is ready to accept connections"
	case MySQL:
		args := []string{"--no-defaults", "--datadir=" + s.dataDir(), "--socket=" + filepath.Join(s.dir, "mysql.sock"),
			"--port=" + strconv.Itoa(s.port), "--bind-address=127.0.0.1", "--skip-name-resolve",
			"--pid-file=" + filepath.Join(s.dir, "mysqld.pid"), "--max-connections=500",
			"--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin",
			"--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=64M", "--skip-log-bin"}
		if os.Geteuid() == 0 {
			args = append(args, "--user=root")
		}
		cmd = exec.Command(mysqlBin("mariadbd"), args...)
		ready = "ready for connections"
	}
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.uid, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return startProcess(cmd, s.logFile(), ready, fmt.Sprintf("%s on 127.0.0.1:%d", s.kind, s.port))
}

// Stop shuts the server down (PostgreSQL's fast shutdown, MariaDB's normal
// one) and waits for it; SIGKILL after a timeout.
func (s *Server) Stop() error {
	if s.external {
		return fmt.Errorf("%s: the server from %s is not this test's to stop", s.kind, EnvDSN(s.kind))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	sig := syscall.SIGTERM
	if s.kind == Postgres {
		sig = syscall.SIGINT
	}
	err := s.proc.stop(sig, stopTimeout)
	s.proc = nil
	return err
}

// Kill ends the server with SIGKILL, as a crash would.
func (s *Server) Kill() error {
	if s.external {
		return fmt.Errorf("%s: the server from %s is not this test's to kill", s.kind, EnvDSN(s.kind))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := s.proc.stop(syscall.SIGKILL, stopTimeout)
	s.proc = nil
	return err
}

// Restart is Stop then Start.
func (s *Server) Restart() error {
	if err := s.Stop(); err != nil {
		return err
	}
	return s.Start()
}

// Remove stops the server and deletes its directory.
func (s *Server) Remove() error {
	if s.external {
		return nil
	}
	err := s.Stop()
	if rerr := os.RemoveAll(s.dir); err == nil {
		err = rerr
	}
	return err
}

// Log is the tail of the server's log, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logFile())
	return tail(string(b), 40)
}

// process is a running server, started from a goroutine locked to its OS
// thread: the parent-death signal fires when the thread that forked the
// child exits, so the thread must live as long as the child.
type process struct {
	pid  int
	done chan struct{}
	err  error
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func startProcess(cmd *exec.Cmd, logPath, ready, what string) (*process, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine, after the child
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.err = cmd.Wait()
		_ = pw.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		log.Close()
		return nil, fmt.Errorf("%s: start: %w", what, err)
	}
	readyc := make(chan struct{})
	var lines []string
	var linesMu sync.Mutex
	go func() {
		defer log.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		seen := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(log, line)
			linesMu.Lock()
			if len(lines) < 200 {
				lines = append(lines, line)
			}
			linesMu.Unlock()
			if !seen && strings.Contains(line, ready) {
				seen = true
				close(readyc)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	timer := time.NewTimer(readyTimeout)
	defer timer.Stop()
	output := func() string {
		linesMu.Lock()
		defer linesMu.Unlock()
		return strings.Join(lines, "\n")
	}
	select {
	case <-readyc:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before it was ready (%v):\n%s", what, p.err, tail(output(), 20))
	case <-timer.C:
		_ = p.stop(syscall.SIGKILL, stopTimeout)
		return nil, fmt.Errorf("%s not ready within %s:\n%s", what, readyTimeout, tail(output(), 20))
	}
}

func (p *process) stop(sig syscall.Signal, timeout time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = syscall.Kill(p.pid, sig)
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	}
	// The whole group: PostgreSQL's backends too.
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("server pid %d did not stop within %s after %v; killed", p.pid, timeout, sig)
}

func runBounded(cmd *exec.Cmd, timeout time.Duration) (string, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("timed out after %s", timeout)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// unprivileged is the account PostgreSQL runs as when the tests are root.
func unprivileged() (*syscall.Credential, error) {
	names := []string{"nscale-test", "nobody"}
	if n := os.Getenv(EnvUser); n != "" {
		names = []string{n}
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: false, Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("postgres: PostgreSQL refuses to run as root and none of the accounts %v exists (useradd -r nscale-test, or set %s)", names, EnvUser)
}

// pgBin finds a PostgreSQL server binary: Debian keeps them per major
// version under /usr/lib/postgresql; 15 is the one the project pins.
func pgBin(name string) string {
	for _, v := range []string{"15", "16", "17", "14"} {
		p := filepath.Join("/usr/lib/postgresql", v, "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("/usr/lib/postgresql/15/bin", name)
}

// mysqlBin finds a MariaDB binary; mariadbd lives in /usr/sbin, often not on
// an unprivileged PATH.
func mysqlBin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"} {
		p := filepath.Join(d, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("/usr/sbin", name)
}

func binaries(k Kind) []string {
	if k == MySQL {
		return []string{mysqlBin("mariadb-install-db"), mysqlBin("mariadbd")}
	}
	return []string{pgBin("initdb"), pgBin("postgres")}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var sweepOnce sync.Once

// sweep removes the directories of servers whose test process is gone (a
// crashed or killed run; its servers died with it).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "nscale-dbtest-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}
