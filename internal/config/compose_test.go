package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The repository's deployment files, as an operator runs them. Unknown
// FLOTILLA_ variables are ignored by the daemon (they may be meant for the
// CLI), so a misspelt key in these files would be silently lost: these
// tests are the check.
const (
	composePath    = "../../docker-compose.yml"
	dockerfilePath = "../../Dockerfile"
	makefilePath   = "../../Makefile"
	envExamplePath = "../../.env.example"
)

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image       string                    `yaml:"image"`
	Build       any                       `yaml:"build"`
	Command     []string                  `yaml:"command"`
	Environment composeEnv                `yaml:"environment"`
	Ports       []composePort             `yaml:"ports"`
	Networks    map[string]composeNetwork `yaml:"-"`
	RawNetworks yaml.Node                 `yaml:"networks"`
}

type composeNetwork struct {
	IPv4Address string `yaml:"ipv4_address"`
}

// composeEnv takes both of compose's forms: a map, or a list of KEY=VALUE.
type composeEnv map[string]string

func (e *composeEnv) UnmarshalYAML(n *yaml.Node) error {
	*e = composeEnv{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	return n.Decode((*map[string]string)(e))
}

// composePort is a published port in the short form
// ([HOST_IP:]PUBLISHED:TARGET) or the long one.
type composePort struct {
	HostIP    string `yaml:"host_ip"`
	Published string `yaml:"published"`
	Target    string `yaml:"target"`
}

func (p *composePort) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		type plain composePort
		return n.Decode((*plain)(p))
	}
	parts := strings.Split(n.Value, ":")
	switch len(parts) {
	case 2:
		p.Published, p.Target = parts[0], parts[1]
	case 3:
		p.HostIP, p.Published, p.Target = parts[0], parts[1], parts[2]
	default:
		return fmt.Errorf("port %q: want [HOST_IP:]PUBLISHED:TARGET", n.Value)
	}
	return nil
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for name, s := range f.Services {
		s.Networks = map[string]composeNetwork{}
		if s.RawNetworks.Kind == yaml.MappingNode {
			if err := s.RawNetworks.Decode(&s.Networks); err != nil {
				t.Fatalf("service %s networks: %v", name, err)
			}
		}
		f.Services[name] = s
	}
	return f
}

// peers are the services built from the Dockerfile: the Flotilla peers.
func (f composeFile) peers() []string {
	var out []string
	for name, s := range f.Services {
		if s.Build != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

var interpolation = regexp.MustCompile(`\$\{([A-Z0-9_]+)(:?[?-][^}]*)?\}`)

// containerEnv is a peer's environment as its container sees it: the
// image's ENV, then the service's, with compose's ${VAR} interpolation
// filled from vars.
func containerEnv(t *testing.T, image map[string]string, s composeService, vars map[string]string) []string {
	t.Helper()
	env := map[string]string{}
	for k, v := range image {
		env[k] = v
	}
	for k, v := range s.Environment {
		env[k] = interpolation.ReplaceAllStringFunc(v, func(m string) string {
			name := interpolation.FindStringSubmatch(m)[1]
			val, ok := vars[name]
			if !ok {
				t.Errorf("%s interpolates ${%s}, which .env.example does not define", k, name)
			}
			return val
		})
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// dockerfileEnv reads the ENV instructions of the Dockerfile's final stage.
func dockerfileEnv(t *testing.T) (env map[string]string, finalStage []string) {
	t.Helper()
	raw, err := os.ReadFile(dockerfilePath)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "FROM ") {
			finalStage = nil
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			finalStage = append(finalStage, line)
		}
	}
	env = map[string]string{}
	for _, line := range finalStage {
		if rest, ok := strings.CutPrefix(line, "ENV "); ok {
			for _, kv := range strings.Fields(rest) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("Dockerfile: ENV %q: want KEY=VALUE", kv)
				}
				env[k] = v
			}
		}
	}
	return env, finalStage
}

// envExample reads .env.example, with a fresh secret where it leaves the
// value for the operator to fill.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(envExamplePath)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
			vars[k] = v
		}
	}
	for _, name := range []string{"FLOTILLA_CLUSTER_SECRET", "FLOTILLA_CLUSTER_FOLLOWER_SECRET"} {
		if _, ok := vars[name]; !ok {
			t.Fatalf(".env.example does not define %s", name)
		}
		secret, err := NewSecret()
		if err != nil {
			t.Fatal(err)
		}
		vars[name] = secret
	}
	return vars
}

// loadAs loads the configuration a peer starts with: `flotilla daemon
// --init` writes the defaults, and the environment overrides them.
func loadAs(t *testing.T, environ []string) (Config, error) {
	t.Helper()
	cfg := Default()
	cfg.Cluster.Secret = strings.Repeat("0", 64)
	path := filepath.Join(t.TempDir(), "service.json")
	if err := Save(path, cfg); err != nil {
		t.Fatal(err)
	}
	return Load(path, environ)
}

func listenPort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}
