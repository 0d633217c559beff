package main

// Which plugins a program needs: the pulumi provider SDKs installed in its virtualenv.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// GetRequiredPackages makes sure the virtualenv exists (creating it and installing requirements.txt if
// not, with the output shown by the engine), then reports one resource plugin per installed pulumi
// package (real host: main.go:326-369). With PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true the CLI
// does not insist on having the ones the stack never uses.
func (h *host) GetRequiredPackages(ctx context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: deps}, nil
}

// GetRequiredPlugins is the older form of GetRequiredPackages. The real host answers Unimplemented, upon
// which the CLI calls GetRequiredPackages (real host: main.go:371-375); we answer with the same list.
func (h *host) GetRequiredPlugins(ctx context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := h.requiredPackages(ctx, req.GetInfo())
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(deps))
	for _, d := range deps {
		if d.GetParameterization() == nil { // a parameterized package cannot be named as a bare plugin
			plugins = append(plugins, &pulumirpc.PluginDependency{
				Name: d.GetName(), Kind: d.GetKind(), Version: d.GetVersion(), Server: d.GetServer(),
			})
		}
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *host) requiredPackages(ctx context.Context, info *pulumirpc.ProgramInfo,
) ([]*pulumirpc.PackageDependency, error) {
	_, tc, err := resolve(info, false)
	if err != nil {
		return nil, err
	}
	stdout, stderr, done := h.engineWriters(ctx)
	defer done()
	if err := tc.EnsureVenv(ctx, info.GetProgramDirectory(), false, true, stdout, stderr); err != nil {
		return nil, err
	}

	cmd, err := tc.Command(ctx, "-c", listDistributionsScript)
	if err != nil {
		return nil, err
	}
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("listing the installed python packages: %w", err)
	}
	var dists []struct{ Name, Version, Plugin string }
	if err := json.Unmarshal(out, &dists); err != nil {
		return nil, fmt.Errorf("listing the installed python packages: %w", err)
	}

	deps := []*pulumirpc.PackageDependency{}
	for _, d := range dists {
		dep, err := packageDependency(d.Name, d.Version, d.Plugin)
		if err != nil {
			return nil, err
		}
		if dep != nil {
			logging.V(5).Infof("GetRequiredPackages: %s %s -> %s %s", d.Name, d.Version, dep.Name, dep.Version)
			deps = append(deps, dep)
		}
	}
	return deps, nil
}

// listDistributionsScript prints, as JSON, every distribution in the python environment with its
// normalized name (PEP 503), version, and the path of the pulumi-plugin.json its top-level package ships,
// if any. It looks in the distribution's file list first and, for editable installs (which list no
// package files), where the import system would find the package. The real host lists the packages with
// `pip list` and finds the files by import spec (real host: main.go:549-650).
const listDistributionsScript = `
import importlib.metadata as md, importlib.util as iu, json, os, re
seen, out = set(), []
for d in md.distributions():
    name = re.sub(r"[-_.]+", "-", (d.metadata["Name"] or "")).lower()
    if not name or name in seen:
        continue
    seen.add(name)
    plugin = next((str(f.locate()) for f in (d.files or [])
                   if f.name == "pulumi-plugin.json" and len(f.parts) == 2), "")
    if not plugin and name.startswith("pulumi"):
        try:
            spec = iu.find_spec(name.replace("-", "_"))
            for loc in (spec.submodule_search_locations or []) if spec else []:
                if os.path.isfile(os.path.join(loc, "pulumi-plugin.json")):
                    plugin = os.path.join(loc, "pulumi-plugin.json")
                    break
        except Exception:
            pass
    out.append({"name": name, "version": d.version, "plugin": plugin})
print(json.dumps(out))
`

// Packages that have no plugin although their names say otherwise (real host: main.go:546-552).
var noPlugin = map[string]bool{"pulumi-policy": true, "pulumi-esc-sdk": true}

// packageDependency turns an installed python package into the resource plugin it needs, or nil if it is
// not a pulumi package, or says (resource: false) it has no plugin. The plugin's name and version come
// from pulumi-plugin.json, else from the package's name (minus "pulumi-") and version; nil if that version
// cannot be turned into a plugin version (real host: main.go:606-650, 652-727).
func packageDependency(name, version, pluginJSONPath string) (*pulumirpc.PackageDependency, error) {
	if noPlugin[name] || (pluginJSONPath == "" && !strings.HasPrefix(name, "pulumi-")) {
		return nil, nil
	}
	dep := &pulumirpc.PackageDependency{Kind: "resource"}
	if pluginJSONPath != "" {
		pj, err := plugin.LoadPulumiPluginJSON(pluginJSONPath)
		if err != nil {
			return nil, fmt.Errorf("failed to parse pulumi-plugin.json for %s: %w", name, err)
		}
		if !pj.Resource {
			return nil, nil
		}
		dep.Name, dep.Version, dep.Server = pj.Name, pj.Version, pj.Server
		dep.Parameterization = parameterization(pj.Parameterization)
		dep.Extension = parameterization(pj.ExtensionParameterization)
	}
	if dep.Name == "" {
		dep.Name = strings.TrimPrefix(name, "pulumi-")
	}
	if dep.Version == "" {
		v, ok := pluginVersionOf(version)
		if !ok {
			logging.V(5).Infof("GetRequiredPackages: no plugin version for %s %s, skipping it", name, version)
			return nil, nil
		}
		dep.Version = v
	}
	if !strings.HasPrefix(dep.Version, "v") {
		dep.Version = "v" + dep.Version
	}
	return dep, nil
}

func parameterization(p *plugin.PulumiParameterizationJSON) *pulumirpc.PackageParameterization {
	if p == nil {
		return nil
	}
	return &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
}

// pep440 matches the PEP 440 versions we can translate: N(.N)*[{a|b|rc}N][.postN][.devN].
var pep440 = regexp.MustCompile(`^(\d+(?:\.\d+)*)(?:(a|b|rc)(\d+))?(?:\.post(\d+))?(?:\.dev(\d+))?$`)

// pluginVersionOf translates a python package version into the plugin's semver: at least three numbers
// (1.0 -> 1.0.0), aN/bN/rcN -> -alpha.N/-beta.N/-rc.N, .postN/.devN -> +postN/+devN, both -> +postNdevM
// (the rules of the real host's determinePluginVersion, main.go:729-848).
func pluginVersionOf(pyVersion string) (string, bool) {
	m := pep440.FindStringSubmatch(pyVersion)
	if m == nil {
		return "", false
	}
	numbers := strings.Split(m[1], ".")
	for len(numbers) < 3 {
		numbers = append(numbers, "0")
	}
	v := strings.Join(numbers, ".")
	if m[2] != "" {
		v += "-" + map[string]string{"a": "alpha", "b": "beta", "rc": "rc"}[m[2]] + "." + m[3]
	}
	build := ""
	if m[4] != "" {
		build += "post" + m[4]
	}
	if m[5] != "" {
		build += "dev" + m[5]
	}
	if build != "" {
		v += "+" + build
	}
	return v, true
}

// engineWriters return writers that show text as ephemeral engine log messages, info and error, for the
// output of creating a virtualenv during GetRequiredPackages (real host: main.go:490-545). Without an
// engine the text is dropped.
func (h *host) engineWriters(ctx context.Context) (io.Writer, io.Writer, func()) {
	if h.engineAddress == "" {
		return io.Discard, io.Discard, func() {}
	}
	conn, err := grpc.NewClient(h.engineAddress,
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		logging.V(5).Infof("could not connect to the engine at %s: %v", h.engineAddress, err)
		return io.Discard, io.Discard, func() {}
	}
	engine := pulumirpc.NewEngineClient(conn)
	stream := rand.Int31() //nolint:gosec // a stream id, not a secret
	return &engineLog{ctx, engine, stream, pulumirpc.LogSeverity_INFO},
		&engineLog{ctx, engine, stream, pulumirpc.LogSeverity_ERROR}, func() { _ = conn.Close() }
}

type engineLog struct {
	ctx      context.Context
	engine   pulumirpc.EngineClient
	stream   int32
	severity pulumirpc.LogSeverity
}

func (w *engineLog) Write(p []byte) (int, error) {
	_, err := w.engine.Log(w.ctx, &pulumirpc.LogRequest{
		Message: strings.ToValidUTF8(string(p), "\uFFFD"), Ephemeral: true, StreamId: w.stream, Severity: w.severity,
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
