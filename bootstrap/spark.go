package bootstrap

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

const (
	sparkBegin = "# BEGIN nscale (written by nscale-agent bootstrap: replaced by each run, removed by --uninstall)"
	sparkEnd   = "# END nscale"
)

// stripBlock returns the file without our block.
func stripBlock(text string) string {
	var out []string
	in := false
	for _, l := range strings.Split(text, "\n") {
		switch {
		case l == sparkBegin:
			in = true
		case in && l == sparkEnd:
			in = false
		case !in:
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// sparkSettings reads the settings outside our block (the last of a key
// wins, as Spark reads them).
func sparkSettings(text string) map[string]string {
	kv := map[string]string{}
	s := bufio.NewScanner(strings.NewReader(text))
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, _ := strings.Cut(strings.Join(strings.Fields(l), " "), " ")
		kv[k] = v
	}
	return kv
}

// withSparkBlock appends our block to the file's own settings. Settings
// Spark already has (EMR's class path, JVM options) are kept: the block
// repeats them with ours added, and since the last line wins, removing
// the block restores them.
func withSparkBlock(text string, o Options) string {
	base := strings.TrimRight(stripBlock(text), "\n")
	kv := sparkSettings(base)
	join := func(key, sep, add string) string {
		if cur := kv[key]; cur != "" {
			if strings.Contains(sep+cur+sep, sep+add+sep) {
				return cur
			}
			return cur + sep + add
		}
		return add
	}
	var b strings.Builder
	if base != "" {
		b.WriteString(base + "\n")
	}
	b.WriteString(sparkBegin + "\n")
	for _, k := range []string{"spark.driver.extraClassPath", "spark.executor.extraClassPath"} {
		fmt.Fprintf(&b, "%s %s\n", k, join(k, ":", o.JDBCJar))
	}
	fmt.Fprintf(&b, "spark.nscale.url jdbc:arrow-flight-sql://127.0.0.1:%d/?useEncryption=false\n", o.Port)
	b.WriteString(sparkEnd + "\n")
	return b.String()
}

// sparkStep writes our block into spark-defaults.conf. A node without
// Spark's configuration directory is left alone (said so).
func (n *node) sparkStep(o Options) error {
	file := o.SparkDefaults
	p := n.path(file)
	fi, err := os.Stat(p)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	created := os.IsNotExist(err)
	if created {
		if dfi, err := os.Stat(n.path(dirOf(file))); err != nil || !dfi.IsDir() {
			fmt.Fprintf(n.out, "spark: %s does not exist; no Spark settings written (pass --spark-defaults \"\" to skip this step)\n", dirOf(file))
			return nil
		}
	}
	old, _ := os.ReadFile(p)
	mode := os.FileMode(0o644)
	o2 := rootOwner
	if !created {
		mode = fi.Mode().Perm()
		o2 = ownerOf(fi)
	}
	if _, err := n.writeFileKeepRecord(file, []byte(withSparkBlock(string(old), o)), mode, o2); err != nil {
		return err
	}
	if !n.dry && n.m.SparkDefaults == "" {
		n.m.SparkDefaults, n.m.SparkCreated = file, created
	}
	return nil
}

// removeSparkBlock takes our block out, or the file when bootstrap made it
// and nothing else is in it.
func (n *node) removeSparkBlock() error {
	file := n.m.SparkDefaults
	if file == "" {
		return nil
	}
	p := n.path(file)
	old, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	rest := stripBlock(string(old))
	if n.m.SparkCreated && strings.TrimSpace(rest) == "" {
		return n.remove(file)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if rest != "" && !strings.HasSuffix(rest, "\n") {
		rest += "\n"
	}
	_, err = n.writeFileKeepRecord(file, []byte(rest), fi.Mode().Perm(), ownerOf(fi))
	return err
}

func dirOf(p string) string {
	i := strings.LastIndex(p, "/")
	if i <= 0 {
		return "/"
	}
	return p[:i]
}
