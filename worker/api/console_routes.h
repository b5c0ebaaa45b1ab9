// The web console (web/, built by web/build.sh into build/console/): its files read once at start
// into memory, each with its gzip form and an ETag, and served by every member, so the Ingress
// serves them too: index.html at `/`, the rest at `/console/<name>`.
//
// Every answer carries a Content-Security-Policy that lets the page load scripts, styles and
// connections from this origin only (no inline script or style, no framing). index.html is
// revalidated on every load (no-cache, ETag); the other files have content hashes in their names
// and are cached for a year.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/expected.h"
#include "worker/api/endpoints.h"

namespace api {

struct ConsoleFile {
  std::string content_type;
  std::string bytes;
  std::string gzipped;  // empty when gzip does not make it smaller
  std::string etag;     // quoted, from the content's SHA-256
};

class ConsoleFiles {
 public:
  // The regular files directly in `dir` (no subdirectories), which must hold index.html.
  static common::Expected<ConsoleFiles, std::string> Load(const std::string& dir);
  const ConsoleFile* Find(const std::string& name) const;
  std::size_t size() const { return files_.size(); }

 private:
  std::map<std::string, ConsoleFile, std::less<>> files_;
};

// With no files (none built, or --console-dir unset), `/` answers 404 console_not_built.
void AddConsoleRoutes(Endpoints& endpoints, std::shared_ptr<const ConsoleFiles> files);

}  // namespace api
