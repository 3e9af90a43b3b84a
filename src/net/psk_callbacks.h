#pragma once
// TLS-PSK on a server context: TLS 1.2 PSK cipher suites through
// SSL_CTX_set_psk_server_callback, and TLS 1.3 external PSKs through
// SSL_CTX_set_psk_find_session_callback (SHA-256 suites, the TLS 1.3 default hash for
// external PSKs, which is what OpenSSL clients such as mosquitto_pub --psk use). Keys
// come from a parsed psk_file (auth::PskFile), found through the SSL_CTX's app data;
// the identity a client used is written to the PeerIdentity the SSL's app data points
// at (the connection's transport), for use_identity_as_username and the log.
#include <openssl/ssl.h>

#include <string>

#include "common/result.h"

namespace petrel::auth {
class PskFile;
}

namespace petrel::net {

// `keys` must outlive `ctx` (TlsContext keeps both). `hint` is sent to TLS 1.2 clients.
Result<void> install_psk_callbacks(SSL_CTX* ctx, const auth::PskFile* keys, const std::string& hint);

}  // namespace petrel::net
