// The console is served by the control plane at /console/ from the files
// this build writes into controlplane/console/dist, which the Go binary
// embeds. Builds are reproducible (content-hashed names, no timestamps), so
// `make console-check` can rebuild and compare, as gen-check does for gen/.
import { defineConfig } from "vite";

export default defineConfig({
  base: "/console/",
  // No plugin: esbuild compiles TSX with React's automatic runtime.
  esbuild: { jsx: "automatic" },
  resolve: {
    // The generated client in clients/ts/gen imports the protobuf and
    // Connect runtimes; resolve them from this project so there is one copy.
    dedupe: ["@bufbuild/protobuf", "@connectrpc/connect"],
  },
  build: {
    outDir: "../controlplane/console/dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
