// Rolldown options merged into jco's bundling step (build.sh passes --bundle-config).
// The lectern:tool/* imports are provided by the host at run time, not by files.
export default {
  external: [/^lectern:/],
};
