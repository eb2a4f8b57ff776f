// Command dagger is the client half the Python SDK needs to reach a local engine: `session`
// (what dagger-io runs), plus `version` and `query` for checks by hand and in CI.
//
// The upstream CLI (github.com/dagger/dagger/cmd/dagger) cannot be built here: its terminal UI
// imports github.com/vito/tuist, which the Go module proxy does not serve at any version. This
// client uses the same engine client library (github.com/dagger/dagger/engine/client) at the
// same version, so the engine sees an ordinary session.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/dagger/dagger/engine"
	"github.com/dagger/dagger/engine/client"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dagger session|version|query")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "session":
		err = session(os.Args[2:])
	case "version":
		err = version()
	case "query":
		err = query(os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown command %q: this client supports session, version and query", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dagger:", err)
		os.Exit(1)
	}
}

// runnerHost mirrors the upstream CLI: the environment wins, then the stamped default.
func runnerHost() (string, error) {
	if host := os.Getenv("_EXPERIMENTAL_DAGGER_RUNNER_HOST"); host != "" {
		return host, nil
	}
	return "", errors.New("_EXPERIMENTAL_DAGGER_RUNNER_HOST is not set (see `python -m pipeline engine env`)")
}

func connect(ctx context.Context, token string) (*client.Client, error) {
	host, err := runnerHost()
	if err != nil {
		return nil, err
	}
	return client.Connect(ctx, client.Params{SecretToken: token, RunnerHost: host})
}

type sessionParams struct {
	Port         int    `json:"port"`
	SessionToken string `json:"session_token"`
}

// session serves the engine's GraphQL API on a loopback port and prints how to reach it,
// in the protocol dagger-io speaks; it ends when stdin closes or on SIGINT/SIGTERM.
func session(args []string) error {
	flags := flag.NewFlagSet("session", flag.ContinueOnError)
	var labels multiFlag
	flags.Var(&labels, "label", "session label (accepted for SDK compatibility)")
	flags.String("workdir", "", "accepted for SDK compatibility")
	flags.String("project", "", "accepted for SDK compatibility")
	flags.String("version", "", "accepted for SDK compatibility")
	flags.Bool("load-workspace-modules", false, "accepted for SDK compatibility")
	if err := flags.Parse(args); err != nil {
		return err
	}
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	token := uuid.NewString()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-stop; listener.Close() }()
	go func() { io.Copy(io.Discard, os.Stdin); listener.Close() }()

	ctx := context.Background()
	sess, err := connect(ctx, token)
	if err != nil {
		return fmt.Errorf("connect to engine: %w", err)
	}
	defer sess.Close()

	line, err := json.Marshal(sessionParams{Port: listener.Addr().(*net.TCPAddr).Port, SessionToken: token})
	if err != nil {
		return err
	}
	if _, err := os.Stdout.Write(append(line, '\n')); err != nil {
		return err
	}
	server := http.Server{Handler: sess, ReadHeaderTimeout: 30 * time.Second}
	if err := server.Serve(listener); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// query runs one GraphQL document read from stdin and prints the data as JSON.
func query(in io.Reader, out io.Writer) error {
	doc, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	ctx := context.Background()
	sess, err := connect(ctx, uuid.NewString())
	if err != nil {
		return fmt.Errorf("connect to engine: %w", err)
	}
	defer sess.Close()
	var data map[string]any
	if err := sess.Do(ctx, string(doc), "", nil, &data); err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(data)
}

// version prints the client's stamped version and the version the engine reports.
func version() error {
	host, err := runnerHost()
	if err != nil {
		return err
	}
	ctx := context.Background()
	sess, err := connect(ctx, uuid.NewString())
	if err != nil {
		return fmt.Errorf("connect to engine at %s: %w", host, err)
	}
	defer sess.Close()
	var data struct {
		Version string `json:"version"`
	}
	if err := sess.Do(ctx, "{version}", "", nil, &data); err != nil {
		return err
	}
	fmt.Printf("dagger %s (engine %s at %s)\n", engine.Version, data.Version, host)
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
