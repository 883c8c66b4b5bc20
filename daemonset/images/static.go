package images

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// goarchOf maps an ELF machine to the GOARCH (and OCI architecture) name
// of the Linux ports an image can be built for.
var goarchOf = map[elf.Machine]string{
	elf.EM_X86_64:  "amd64",
	elf.EM_AARCH64: "arm64",
	elf.EM_PPC64:   "ppc64le",
	elf.EM_S390:    "s390x",
	elf.EM_RISCV:   "riscv64",
}

// StaticELF checks that the file at path is a statically linked 64-bit
// Linux executable, one that runs in an image holding nothing else: it has
// no program interpreter (PT_INTERP, the dynamic loader) and needs no
// shared library (DT_NEEDED). It returns the binary's GOARCH.
func StaticELF(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is not an ELF binary: %w", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return "", fmt.Errorf("%s is an ELF %s, not an executable", path, f.Type)
	}
	if f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
		return "", fmt.Errorf("%s is built for %s, not Linux", path, f.OSABI)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked (it has a program interpreter): build it with CGO_ENABLED=0, or with cgo and -ldflags '-linkmode external -extldflags -static'", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return "", fmt.Errorf("%s: reading its dynamic section: %w", path, err)
	}
	if len(libs) > 0 {
		return "", fmt.Errorf("%s needs shared libraries %v: it must be statically linked", path, libs)
	}
	arch, ok := goarchOf[f.Machine]
	if !ok || f.Class != elf.ELFCLASS64 || (arch == "ppc64le" && f.ByteOrder != binary.LittleEndian) {
		return "", fmt.Errorf("%s is built for %s (%s), which no image is built for", path, f.Machine, f.Class)
	}
	return arch, nil
}
