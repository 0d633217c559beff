// A stand-in for the Weave Net plugin (weaveworks/net-plugin), which cannot be fetched here: a Docker
// network driver plugin that answers the plugin handshake on its socket and nothing else, so that
// weave-plugin.sh can install it by digest, configure and enable it on a real Docker Engine. Docker's
// plugin protocol: POST /Plugin.Activate answers the interfaces it implements
// (moby pkg/plugins/client.go, docs/extend/plugin_api.md); a network driver also answers its
// capabilities (libnetwork/drivers/remote/api).
package main

import (
	"log"
	"net"
	"net/http"
	"os"
)

const socket = "/run/docker/plugins/weave.sock" // config.json's interface.socket, in the plugin's runtime folder

func answer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.docker.plugins.v1.2+json")
		_, _ = w.Write([]byte(body))
	}
}

func main() {
	if err := os.MkdirAll("/run/docker/plugins", 0o755); err != nil {
		log.Fatal(err)
	}
	listener, err := net.Listen("unix", socket)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("IPALLOC_RANGE=%s WEAVE_MTU=%s", os.Getenv("IPALLOC_RANGE"), os.Getenv("WEAVE_MTU"))
	http.HandleFunc("/Plugin.Activate", answer(`{"Implements":["NetworkDriver"]}`))
	http.HandleFunc("/NetworkDriver.GetCapabilities", answer(`{"Scope":"global"}`))
	log.Fatal(http.Serve(listener, nil))
}
