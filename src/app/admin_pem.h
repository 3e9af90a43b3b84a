#pragma once
// PEM material pasted into the admin (broker certificate and key, client CAs, a bridge's
// CA and client certificate): checked before anything is applied, with errors a router
// admin can act on, and described back (subject, issuer, validity) for the pages.
#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace petrel::app {

struct CertInfo {
  std::string subject, issuer, common_name;
  int64_t not_before = 0, not_after = 0;  // unix seconds
  bool expired = false, not_yet_valid = false;
  bool is_ca = false;
};

// Every certificate in the text (at least one, nothing but certificates).
Result<std::vector<CertInfo>> parse_certificates(std::string_view pem);
// The private key parses without a password and matches the first certificate of cert_pem.
Result<void> check_key_pair(std::string_view key_pem, std::string_view cert_pem);
// The same for files on disk (what the running configuration names); errors name the file.
Result<std::vector<CertInfo>> certificate_file_info(const std::string& path);

boost::json::object cert_json(const CertInfo& c);

}  // namespace petrel::app
