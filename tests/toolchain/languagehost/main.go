// Command pulumi-language-python is our own small stand-in for Pulumi's Python language host.
//
// The real host, github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3, is a Go module that the
// only reachable module proxy refuses to serve, so the pulumi CLI built from tests/toolchain has no Python
// language plugin. This program implements pulumirpc.LanguageRuntimeServer for the parts the CLI uses on a
// python project and a python policy pack (stack init, config, install, preview, up, destroy, stack output,
// --policy-pack). It is our code, written after reading the real host; comments cite the real source as
// "real host: main.go:LINES", meaning sdk/python/cmd/pulumi-language-python/main.go in pulumi/pulumi at the
// v3.259/v3.260-era commit 1b5949891b3c.
//
// The pieces that do the actual work are the real ones, from github.com/pulumi/pulumi/sdk/v3 at the CLI's
// version:
//   - python/cmd/pulumi-language-python-exec, the Python shim that connects a program to the engine; the
//     build copies it next to this binary, where we look for it, as the real host does;
//   - the Go package python/toolchain, which finds, creates and validates the virtualenv, runs pip and lists
//     the installed packages;
//   - sdk.PolicyProxy (policy_proxy.go), which starts an old-style python policy pack with its stack config.
//
// Left out, compared with the real host: program/package/project code generation, Link and Pack (all
// answered "Unimplemented"), attaching a debugger, OpenTelemetry spans, and the warning about old Python
// versions.
//
// Built, with the CLI and beside the exec script, by tests/toolchain/build.sh.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// The exec shim's file name; it lives next to this binary (real host: main.go:83-85, 149-162).
	execScriptName = "pulumi-language-python-exec"
	// The exec shim exits with this code after it has shown the user an error message, so we must not add
	// one (real host: main.go:94-97, 1184-1185).
	exitAfterUserActionableMessage = 32
	// The version reported when neither -ldflags nor the build info name one.
	fallbackVersion = "v3.276.0"
)

func main() {
	// The CLI v3.276.0 starts a language plugin as `pulumi-language-python ENGINE_ADDRESS`, in the program's
	// directory (sdk/v3 go/common/resource/plugin/langruntime_plugin.go:123-139, 208-212); it passes no
	// logging flags to language plugins. -v=N and --logtostderr (the logging package's glog flags) and
	// --tracing are there for running the host by hand (real host: main.go:114-133).
	tracingURL := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	showVersion := flag.Bool("version", false, "Print the current plugin version and exit")
	executor := flag.String("use-executor", "", "Use the given program as the exec script")
	flag.Parse()
	if *showVersion {
		fmt.Println(pluginVersion())
		return
	}
	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-python", "pulumi-language-python", *tracingURL)

	// Find the exec script beside this binary (real host: main.go:136-162).
	execScript := *executor
	if execScript == "" {
		self, err := os.Executable()
		if err != nil {
			cmdutil.Exit(fmt.Errorf("could not determine current executable: %w", err))
		}
		execScript = filepath.Join(filepath.Dir(self), execScriptName)
		if _, err := os.Stat(execScript); err != nil {
			cmdutil.Exit(fmt.Errorf("missing executor %s: %w", execScript, err))
		}
	}

	// The engine address is the only positional argument, absent when the CLI attaches to a host started by
	// hand (PULUMI_DEBUG_LANGUAGES=python:PORT; Handshake then brings it). Stop serving on SIGINT or when the
	// engine stops answering health checks (real host: main.go:170-190).
	host := newHost(execScript, flag.Arg(0), *tracingURL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	cancel := make(chan bool)
	go func() { <-ctx.Done(); stop(); close(cancel) }()
	if host.engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, host.engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	// Serve on a port the kernel picks, print it on stdout for the CLI to read, and serve until cancelled
	// (real host: main.go:192-213). The extra interceptors log every call made to us, at -v=5 (seen when the
	// host runs by hand with -v=5 --logtostderr).
	opts := append(rpcutil.TracingServerInterceptorOptions(nil),
		grpc.ChainUnaryInterceptor(logUnaryCall), grpc.ChainStreamInterceptor(logStreamCall))
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel:  cancel,
		Init:    func(srv *grpc.Server) error { pulumirpc.RegisterLanguageRuntimeServer(srv, host); return nil },
		Options: opts,
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

func logUnaryCall(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	logging.V(5).Infof("language host RPC %s", info.FullMethod)
	resp, err := next(ctx, req)
	if err != nil {
		logging.V(5).Infof("language host RPC %s failed: %v", info.FullMethod, err)
	}
	return resp, err
}

func logStreamCall(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	logging.V(5).Infof("language host RPC %s (stream)", info.FullMethod)
	err := next(srv, ss)
	if err != nil {
		logging.V(5).Infof("language host RPC %s failed: %v", info.FullMethod, err)
	}
	return err
}

// pluginVersion is the version given with -ldflags -X .../version.Version, else the sdk/v3 module version
// this binary was built with (the same as the CLI's, since both come from tests/toolchain/go.mod).
func pluginVersion() string {
	if version.Version != "" {
		return version.Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/pulumi/pulumi/sdk/v3" && strings.HasPrefix(dep.Version, "v") {
				return dep.Version
			}
		}
	}
	return fallbackVersion
}

// host implements pulumirpc.LanguageRuntimeServer. The embedded Unimplemented server answers the RPCs we
// leave out (GenerateProgram, GenerateProject, GeneratePackage, Pack, Link, ...) with codes.Unimplemented.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	execScript    string
	engineAddress string
	tracing       string

	// The Cancel RPC cancels cancelCtx, which stops the programs running then (real host: main.go:2032-2035).
	// Unlike the real host we then start afresh, so that a host the CLI attaches to (PULUMI_DEBUG_LANGUAGES)
	// can still Run after the CLI's Cancel at the end of an earlier command.
	mu         sync.Mutex
	cancelCtx  context.Context
	cancelFunc context.CancelFunc
}

func newHost(execScript, engineAddress, tracing string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{execScript: execScript, engineAddress: engineAddress, tracing: tracing,
		cancelCtx: ctx, cancelFunc: cancel}
}

// pythonOptions reads the runtime options of Pulumi.yaml / PulumiPolicy.yaml / PulumiPlugin.yaml into the
// toolchain's options. Plugins (but not policy packs, nor programs) default to a `venv` virtualenv under
// pip (real host: main.go:233-291, parseOptions).
func pythonOptions(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.PythonOptions, error) {
	opts := toolchain.PythonOptions{Root: info.GetRootDirectory(), ProgramDir: info.GetProgramDirectory()}
	raw := info.GetOptions().AsMap()
	str := func(key string) (string, error) {
		v, ok := raw[key]
		if !ok {
			return "", nil
		}
		if s, ok := v.(string); ok {
			return s, nil
		}
		return "", fmt.Errorf("%s option must be a string", key)
	}
	var err error
	if opts.Virtualenv, err = str("virtualenv"); err != nil {
		return opts, err
	}
	if opts.Typechecker, err = choice(str, "typechecker", []string{"mypy", "pyright"},
		toolchain.TypeCheckerMypy, toolchain.TypeCheckerPyright); err != nil {
		return opts, err
	}
	// "" keeps toolchain.Auto: uv.lock or poetry.lock decide, else pip
	if opts.Toolchain, err = choice(str, "toolchain", []string{"pip", "poetry", "uv"},
		toolchain.Pip, toolchain.Poetry, toolchain.Uv); err != nil {
		return opts, err
	}
	if isPlugin && (opts.Toolchain == toolchain.Pip || opts.Toolchain == toolchain.Auto) && opts.Virtualenv == "" {
		opts.Virtualenv = "venv"
	}
	return opts, nil
}

// choice reads the string option `key` as the value of the same position as its name in `names`;
// absent or "", the zero value.
func choice[T any](str func(string) (string, error), key string, names []string, values ...T) (T, error) {
	var zero T
	name, err := str(key)
	if err != nil || name == "" {
		return zero, err
	}
	for i, known := range names {
		if name == known {
			return values[i], nil
		}
	}
	return zero, fmt.Errorf("unsupported %s option: %s", key, name)
}

// resolve parses the options and returns the toolchain for them.
func resolve(info *pulumirpc.ProgramInfo, isPlugin bool) (toolchain.PythonOptions, toolchain.Toolchain, error) {
	opts, err := pythonOptions(info, isPlugin)
	if err != nil {
		return opts, nil, err
	}
	tc, err := toolchain.ResolveToolchain(opts)
	return opts, tc, err
}

// Handshake records the engine address and watches the engine's health (real host: main.go:1887-1907).
// The CLI calls it only when attaching to a host started by hand (langruntime_plugin.go:67-107).
func (h *host) Handshake(ctx context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	hctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(hctx, h.engineAddress, 5*time.Minute, stop); err != nil {
		return nil, fmt.Errorf("could not start health check host RPC server: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports our version (real host: main.go:1264-1268).
func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: pluginVersion()}, nil
}

// Cancel stops the programs we run (real host: main.go:2032-2035; Run ties them to cancelCtx).
func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancelFunc()
	h.cancelCtx, h.cancelFunc = context.WithCancel(context.Background())
	return &emptypb.Empty{}, nil
}

// Run runs the program: `<venv python> pulumi-language-python-exec --monitor .. --engine .. ENTRYPOINT ARGS`
// with the config in the environment (real host: main.go:997-1201, Run).
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	if req.GetAttachDebugger() {
		// The real host starts debugpy here (real host: main.go:1009-1019); we do not.
		return &pulumirpc.RunResponse{Error: "this stand-in python language host cannot attach a debugger"}, nil
	}
	opts, tc, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	if err := tc.ValidateVenv(ctx); err != nil {
		return nil, err
	}

	// The config and its secret keys go to the program as JSON in PULUMI_CONFIG (left unset when there is
	// no config) and PULUMI_CONFIG_SECRET_KEYS ("[]" when there are none) (real host: main.go:1025-1035,
	// 1066-1075, 1233-1262).
	var configEnv []string
	if req.GetConfig() != nil {
		configJSON, err := json.Marshal(req.GetConfig())
		if err != nil {
			return nil, fmt.Errorf("failed to serialize configuration: %w", err)
		}
		configEnv = append(configEnv, "PULUMI_CONFIG="+string(configJSON))
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("failed to serialize configuration secret keys: %w", err)
	}

	if err := h.typecheck(ctx, opts, tc, req.GetInfo().GetProgramDirectory()); err != nil {
		return nil, err
	}

	// Stop the program when the Cancel RPC fires or the request ends: SIGINT first, then kill after 5s
	// (real host: main.go:1049-1064).
	h.mu.Lock()
	runCtx, runCancel := context.WithCancel(h.cancelCtx)
	h.mu.Unlock()
	defer runCancel()
	context.AfterFunc(ctx, runCancel)
	args := append([]string{h.execScript}, h.execArguments(req)...)
	logging.V(5).Infof("language host launching process: %s", strings.Join(args, " "))
	cmd, err := tc.Command(runCtx, args...)
	if err != nil {
		return nil, err
	}
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = 5 * time.Second
	// The CLI reads our stdout and stderr, so the program's output goes straight there.
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if cmd.Env == nil { // no virtualenv: the ambient python, our own environment
		cmd.Env = os.Environ()
	}
	cmd.Env = append(append(cmd.Env, configEnv...), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON))

	err = cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	// Flush what the program wrote before it died, then describe the failure as the real host does
	// (real host: main.go:1167-1201).
	_ = os.Stdout.Sync()
	_ = os.Stderr.Sync()
	var exitErr *exec.ExitError
	switch {
	case !errors.As(err, &exitErr):
		err = fmt.Errorf("problem executing program (could not run language executor): %w", err)
	case exitErr.ExitCode() == exitAfterUserActionableMessage:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case exitErr.ExitCode() > 0:
		err = fmt.Errorf("program exited with non-zero exit code: %d", exitErr.ExitCode())
	default: // killed by a signal
		err = fmt.Errorf("program exited unexpectedly: %w", exitErr)
	}
	return &pulumirpc.RunResponse{Error: err.Error()}, nil
}

// execArguments builds the exec script's command line: each flag only when it has a value, then the entry
// point (which the engine always sets, "." for the program directory), then the program's own arguments
// (real host: main.go:1207-1231, constructArguments).
func (h *host) execArguments(req *pulumirpc.RunRequest) []string {
	var args []string
	flagArg := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagArg("monitor", req.GetMonitorAddress())
	flagArg("engine", h.engineAddress)
	flagArg("project", req.GetProject())
	flagArg("root_directory", req.GetInfo().GetRootDirectory())
	flagArg("stack", req.GetStack())
	flagArg("pwd", req.GetPwd())
	flagArg("dry_run", strconv.FormatBool(req.GetDryRun()))
	flagArg("parallel", strconv.Itoa(int(req.GetParallel())))
	flagArg("tracing", h.tracing)
	flagArg("organization", req.GetOrganization())
	args = append(args, req.GetInfo().GetEntryPoint())
	return append(args, req.GetArgs()...)
}

// typecheck runs mypy or pyright over the program first when the `typechecker` option asks for it
// (real host: main.go:1096-1146; we skip its "is it installed?" pre-check, python's own error says so).
func (h *host) typecheck(ctx context.Context, opts toolchain.PythonOptions, tc toolchain.Toolchain, dir string) error {
	var name string
	switch opts.Typechecker {
	case toolchain.TypeCheckerMypy:
		name = "mypy"
	case toolchain.TypeCheckerPyright:
		name = "pyright"
	default:
		return nil
	}
	args := []string{}
	if name == "mypy" { // keep mypy out of the virtualenv
		venv, err := tc.VirtualEnvPath(ctx)
		if err != nil {
			return err
		}
		if rel, err := filepath.Rel(dir, venv); err == nil {
			args = append(args, "--exclude", rel)
		}
	}
	cmd, err := tc.ModuleCommand(ctx, name, append(args, dir)...)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = io.MultiWriter(os.Stdout, &out), io.MultiWriter(os.Stderr, &out)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed: %w\n%s", name, err, out.String())
	}
	return nil
}

// InstallDependencies creates the virtualenv and installs requirements.txt (or runs poetry/uv) through the
// toolchain package, streaming the output back to the CLI. A plugin that is a buildable package (has a
// pyproject.toml) also gets itself installed (real host: main.go:1311-1377).
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	ctx := server.Context()
	_, tc, err := resolve(req.GetInfo(), req.GetIsPlugin())
	if err != nil {
		return err
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()

	fmt.Fprint(stdout, "Installing dependencies...\n\n")
	dir, useTools := req.GetInfo().GetProgramDirectory(), req.GetUseLanguageVersionTools()
	if req.GetIsPlugin() {
		buildable, err := toolchain.IsBuildablePackage(dir)
		if err != nil {
			return fmt.Errorf("checking if plugin is a buildable package: %w", err)
		}
		if buildable {
			if err := tc.InstallPackage(ctx, dir, useTools, true, stdout, stderr); err != nil {
				return fmt.Errorf("installing package: %w", err)
			}
		}
	}
	if err := tc.InstallDependencies(ctx, dir, useTools, true, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprint(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// RuntimeOptionsPrompts asks `pulumi new` for a toolchain when none is set, and for a virtualenv with pip
// (real host: main.go:1379-1428).
func (h *host) RuntimeOptionsPrompts(_ context.Context, req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	raw := req.GetInfo().GetOptions().AsMap()
	str := func(s string) *pulumirpc.RuntimeOptionPrompt_RuntimeOptionValue {
		return &pulumirpc.RuntimeOptionPrompt_RuntimeOptionValue{
			PromptType: pulumirpc.RuntimeOptionPrompt_STRING, StringValue: s, DisplayName: s,
		}
	}
	var prompts []*pulumirpc.RuntimeOptionPrompt
	tc, hasTC := raw["toolchain"]
	if !hasTC {
		pip := str("pip")
		prompts = append(prompts, &pulumirpc.RuntimeOptionPrompt{
			Key:         "toolchain",
			Description: "The toolchain to use for installing dependencies and running the program",
			PromptType:  pulumirpc.RuntimeOptionPrompt_STRING,
			Choices: append([]*pulumirpc.RuntimeOptionPrompt_RuntimeOptionValue{pip},
				plugin.MakeExecutablePromptChoices("poetry", "uv")...), // those of the two on PATH
			Default: pip,
		})
	} else if _, hasVenv := raw["virtualenv"]; tc == "pip" && !hasVenv {
		prompts = append(prompts, &pulumirpc.RuntimeOptionPrompt{
			Key:         "virtualenv",
			Description: "The virtualenv to use",
			PromptType:  pulumirpc.RuntimeOptionPrompt_STRING,
			Choices:     []*pulumirpc.RuntimeOptionPrompt_RuntimeOptionValue{str("venv")},
			Default:     str("venv"),
		})
	}
	return &pulumirpc.RuntimeOptionsResponse{Prompts: prompts}, nil
}

// Template lets the toolchain prepare a new project (poetry/uv turn requirements.txt into pyproject.toml)
// (real host: main.go:1430-1451).
func (h *host) Template(ctx context.Context, req *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	_, tc, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	dir := req.GetInfo().GetProgramDirectory()
	if err := tc.PrepareProject(ctx, req.GetProjectName(), dir, false, nil, nil); err != nil {
		return nil, err
	}
	return &pulumirpc.TemplateResponse{}, nil
}

// About reports the python executable and versions, for `pulumi about` (real host: main.go:1453-1485).
func (h *host) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	opts := toolchain.PythonOptions{Toolchain: toolchain.Pip} // an old CLI sends no program info
	if req.GetInfo() != nil {
		var err error
		if opts, err = pythonOptions(req.GetInfo(), false); err != nil {
			return nil, err
		}
	}
	tc, err := toolchain.ResolveToolchain(opts)
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
		Metadata: map[string]string{
			"toolchain":        toolchain.Name(opts.Toolchain),
			"toolchainVersion": info.ToolchainVersion.String(),
			"typechecker":      toolchain.TypeCheckerName(opts.Typechecker),
		},
	}, nil
}

// GetProgramDependencies lists the installed python packages (real host: main.go:1487-1519).
func (h *host) GetProgramDependencies(ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	_, tc, err := resolve(req.GetInfo(), false)
	if err != nil {
		return nil, err
	}
	pkgs, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, fmt.Errorf("failed to get python dependencies: %w", err)
	}
	deps := make([]*pulumirpc.DependencyInfo, len(pkgs))
	for i, p := range pkgs {
		deps[i] = &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version}
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

// RunPlugin runs a python plugin (a provider, say) or policy pack in its virtualenv, streaming its output
// to the CLI, which reads the plugin's port from it (real host: main.go:1517-1728):
//   - policy pack (kind "analyzer"): `python -u -m pulumi.policy ARGS PACKDIR` in the pack's directory,
//     behind sdk.PolicyProxy, which first takes the stack configuration from the engine and hands it to the
//     pack as PULUMI_* variables;
//   - a plugin with __main__.py, or whose pulumi SDK predates pulumi.run.plugin: `python PLUGINDIR ARGS`;
//   - otherwise a buildable package: `python -m pulumi.run.plugin PROJECTNAME ARGS`.
//
// A plugin that exits with an error code gets that code sent back rather than an RPC error.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	if req.GetAttachDebugger() {
		return errors.New("this stand-in python language host cannot attach a debugger")
	}
	isPolicyPack := req.GetKind() == string(apitype.AnalyzerPlugin)
	info := req.GetInfo()
	opts, tc, err := resolve(info, !isPolicyPack)
	if err != nil {
		return err
	}
	// Not in the real host: fail early, with the toolchain's how-to, when the virtualenv is missing,
	// rather than with "connection refused" once the policy proxy has given up.
	if err := tc.ValidateVenv(ctx); err != nil {
		return err
	}

	var cmd *exec.Cmd
	if isPolicyPack { // real host: main.go:1608-1617
		args := append(append([]string{"-u", "-m", "pulumi.policy"}, req.GetArgs()...), info.GetProgramDirectory())
		cmd, err = tc.Command(ctx, args...)
	} else if h.runsAsPackage(ctx, tc, opts.Root) { // real host: main.go:1586-1605
		if buildable, err := toolchain.IsBuildablePackage(opts.Root); err != nil || !buildable {
			return fmt.Errorf("plugin is not runnable, it provides neither __main__.py nor a buildable "+
				"pyproject.toml (%v)", err)
		}
		var pyproject toolchain.Pyproject
		if pyproject, err = toolchain.LoadPyproject(opts.Root); err != nil {
			return fmt.Errorf("loading pyproject: %w", err)
		}
		args := append([]string{pyproject.Project.Name}, req.GetArgs()...)
		cmd, err = tc.ModuleCommand(ctx, "pulumi.run.plugin", args...)
	} else { // real host: main.go:1618-1626
		cmd, err = tc.Command(ctx, append([]string{info.GetProgramDirectory()}, req.GetArgs()...)...)
	}
	if err != nil {
		return err
	}
	logging.V(5).Infof("RunPlugin %s (%s): %s", req.GetName(), req.GetKind(), cmd.String())

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	// Policy packs have always run in their own directory, everything else in the CLI's working directory
	// (real host: main.go:1636-1643).
	cmd.Dir = req.GetPwd()
	if isPolicyPack {
		cmd.Dir = info.GetProgramDirectory()
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}

	// For a policy pack, serve the Analyzer proxy, whose port goes out on the stream; wait for the engine to
	// send it the stack configuration, and pass that on in the environment (real host: main.go:1645-1679).
	var proxy *sdk.PolicyProxy
	if isPolicyPack {
		if proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout); err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		config, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if config != nil {
			setEnv := func(k, v string) {
				if v != "" {
					cmd.Env = append(cmd.Env, k+"="+v)
				}
			}
			setEnv("PULUMI_ORGANIZATION", config.GetOrganization())
			setEnv("PULUMI_PROJECT", config.GetProject())
			setEnv("PULUMI_STACK", config.GetStack())
			setEnv("PULUMI_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
			if config.GetConfig() != nil {
				configJSON, err := json.Marshal(config.GetConfig())
				if err != nil {
					return fmt.Errorf("could not marshal stack configuration: %w", err)
				}
				setEnv("PULUMI_CONFIG", string(configJSON))
			}
		}
	}
	cmd.Env = append(cmd.Env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr

	if err := cmd.Start(); err != nil {
		if proxy != nil {
			proxy.Abort(err)
		}
		return fmt.Errorf("problem executing plugin program (could not run language executor): %w", err)
	}
	if proxy != nil {
		// Attach reads the pack's own port from its stdout, proxies the engine's calls to it, and waits for
		// it to exit.
		err = proxy.Attach(ctx, cmd)
	} else {
		err = cmd.Wait()
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) { // real host: main.go:1711-1727
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(status.ExitStatus())},
			})
		}
		return fmt.Errorf("program exited unexpectedly: %w", exitErr)
	} else if err != nil {
		return err
	}
	return closer.Close()
}

// runsAsPackage tells whether a plugin directory is run through `python -m pulumi.run.plugin`: it has no
// __main__.py, and its pulumi SDK has that module (real host: main.go:1552-1576).
func (h *host) runsAsPackage(ctx context.Context, tc toolchain.Toolchain, root string) bool {
	if _, err := os.Stat(filepath.Join(root, "__main__.py")); err == nil {
		return false
	}
	check, err := tc.Command(ctx, "-c", "import pulumi.run.plugin")
	if err != nil {
		return false
	}
	out, err := check.CombinedOutput()
	return err == nil || !strings.Contains(string(out), "ModuleNotFoundError")
}
