// Command kube-cluster runs one throwaway Kubernetes control plane for tests: an embedded etcd and the
// upstream kube-apiserver in one process, so a test harness has exactly one process per cluster to start
// and to stop. The same binary is also kubectl when invoked as `kubectl` or `kube-cluster kubectl`.
//
//	kube-cluster serve --data-dir DIR [--watch-stdin] -- <kube-apiserver flags>
//
// serve picks free loopback ports for etcd and, unless --secure-port is among the apiserver flags, for
// the API server; waits until GET /readyz answers 200; then prints one line `READY https://127.0.0.1:PORT`
// on stdout. It exits when it gets SIGTERM/SIGINT, when its parent process dies, or (with --watch-stdin)
// when its stdin reaches end of file, so a test runner that crashes leaves nothing behind.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata"

	"go.etcd.io/etcd/server/v3/embed"
	"golang.org/x/sys/unix"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		kubectl(os.Args[1:])
		return
	}
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "serve":
		os.Exit(serve(os.Args[2:]))
	case "kubectl":
		kubectl(os.Args[2:])
	default:
		usage()
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kube-cluster serve --data-dir DIR [--watch-stdin] -- <kube-apiserver flags>\n       kube-cluster kubectl <args>")
	os.Exit(2)
}

func kubectl(args []string) {
	os.Args = append([]string{"kubectl"}, args...)
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) //nolint:errcheck
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		kubectlutil.CheckErr(err)
	}
	os.Exit(0)
}

func serve(argv []string) int {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dataDir := fs.String("data-dir", "", "directory for etcd's data (required)")
	watchStdin := fs.Bool("watch-stdin", false, "exit when stdin reaches end of file")
	readyTimeout := fs.Duration("ready-timeout", 120*time.Second, "give up when /readyz is not 200 by then")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	if *dataDir == "" {
		fmt.Fprintln(os.Stderr, "kube-cluster: --data-dir is required")
		return 2
	}
	apiArgs := fs.Args()

	// The parent's death is a signal to us; if it is already gone, stop now.
	parent := os.Getppid()
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGTERM), 0, 0, 0)
	if os.Getppid() != parent {
		return 1
	}
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != parent {
				fmt.Fprintln(os.Stderr, "kube-cluster: parent process is gone, exiting")
				os.Exit(1)
			}
		}
	}()
	if *watchStdin {
		go func() {
			buf := make([]byte, 512)
			for {
				if _, err := os.Stdin.Read(buf); err != nil {
					fmt.Fprintln(os.Stderr, "kube-cluster: stdin closed, exiting")
					os.Exit(0)
				}
			}
		}()
	}

	ports, err := etcdPorts(*dataDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-cluster:", err)
		return 1
	}
	etcd, err := startEtcd(*dataDir, ports[0], ports[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "kube-cluster: etcd:", err)
		return 1
	}
	defer etcd.Close()

	securePort := flagValue(apiArgs, "secure-port")
	if securePort == "" {
		securePort = strconv.Itoa(ports[2])
		apiArgs = append(apiArgs, "--secure-port="+securePort)
	}
	apiArgs = append(apiArgs, fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", ports[0]))
	endpoint := "https://127.0.0.1:" + securePort

	ctx, cancel := context.WithTimeout(context.Background(), *readyTimeout)
	defer cancel()
	go func() {
		if err := waitReady(ctx, endpoint+"/readyz"); err != nil {
			fmt.Fprintln(os.Stderr, "kube-cluster: API server not ready:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stdout, "READY "+endpoint)
	}()
	go func() {
		if err := <-etcd.Err(); err != nil {
			fmt.Fprintln(os.Stderr, "kube-cluster: etcd failed:", err)
			os.Exit(1)
		}
	}()

	command := app.NewAPIServerCommand()
	command.SetArgs(apiArgs)
	return cli.Run(command)
}

func startEtcd(dir string, clientPort, peerPort int) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.Name = "default"
	client, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	peer, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls = []url.URL{*client}
	cfg.AdvertiseClientUrls = []url.URL{*client}
	cfg.ListenPeerUrls = []url.URL{*peer}
	cfg.AdvertisePeerUrls = []url.URL{*peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	// A test cluster's data is thrown away with it; fsync only costs time on a shared disk.
	cfg.UnsafeNoFsync = true
	cfg.QuotaBackendBytes = 2 << 30
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("not ready after 60s")
	}
}

// etcdPorts picks etcd's client and peer ports and a spare for the API server. A restart on the same data
// directory reuses etcd's ports: the member's peer URL is part of its stored state.
func etcdPorts(dataDir string) ([]int, error) {
	file := filepath.Clean(dataDir) + ".ports"
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(file); err == nil {
		var c, p int
		if _, err := fmt.Sscanf(string(b), "%d %d", &c, &p); err == nil {
			ports[0], ports[1] = c, p
			return ports, nil
		}
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	return ports, os.WriteFile(file, []byte(fmt.Sprintf("%d %d\n", ports[0], ports[1])), 0o600)
}

func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
		if a == "--"+name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// waitReady polls /readyz until it answers 200. Only readiness is read here, so the server's certificate
// is not checked; clients of the cluster verify it against the CA in their kubeconfig.
func waitReady(ctx context.Context, u string) error {
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
