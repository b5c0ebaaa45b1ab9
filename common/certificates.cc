#include "common/certificates.h"

#include <ctime>
#include <memory>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace common {
namespace {

struct Free {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
template <class T>
using Owned = std::unique_ptr<T, Free>;

std::string OpenSslError(const std::string& what) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return what;
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return what + ": " + text;
}

std::string ToPem(const X509* cert) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

std::string ToPem(EVP_PKEY* key) {
  Owned<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Owned<X509> ReadCert(const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Owned<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Owned<EVP_PKEY> ReadKey(const std::string& pem) {
  Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Owned<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::string SubjectAltNames(const CertificateRequest& request) {
  std::string san;
  for (const std::string& name : request.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  for (const std::string& ip : request.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  return san;
}

// A certificate for `key` with the request's subject and validity, signed by `issuer_key` (the
// issuer is `issuer`, or the certificate itself when null).
Expected<CertifiedKey, std::string> Sign(const CertificateRequest& request, EVP_PKEY* issuer_key, X509* issuer,
                                         bool is_ca) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return Unexpected{OpenSslError("cannot generate a P-256 key")};
  Owned<X509> cert(X509_new());
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return Unexpected{OpenSslError("no random serial")};
  serial_bytes[0] &= 0x7f;  // positive, as RFC 5280 wants
  Owned<BIGNUM> serial(BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr));
  std::time_t now = std::time(nullptr);
  const long backdate = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(request.backdate).count());
  const long validity = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(request.validity).count());
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const bool ok =
      X509_set_version(cert.get(), 2) == 1 && BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) &&
      X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -backdate, &now) &&
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, validity, &now) &&
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(request.common_name.c_str()), -1, -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) == 1 &&
      X509_set_pubkey(cert.get(), key.get()) == 1;
  if (!ok) return Unexpected{OpenSslError("cannot fill in the certificate of " + request.common_name)};
  X509* signer = issuer ? issuer : cert.get();
  const std::string san = SubjectAltNames(request);
  const bool extended =
      (is_ca ? AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
                   AddExtension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign")
             : AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
                   AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature") &&
                   AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth")) &&
      AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash") &&
      (is_ca || AddExtension(cert.get(), signer, NID_authority_key_identifier, "keyid")) &&
      (san.empty() || AddExtension(cert.get(), signer, NID_subject_alt_name, san));
  if (!extended) return Unexpected{OpenSslError("invalid extensions for " + request.common_name)};
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key.get(), EVP_sha256()) <= 0) {
    return Unexpected{OpenSslError("cannot sign the certificate of " + request.common_name)};
  }
  return CertifiedKey{ToPem(cert.get()), ToPem(key.get())};
}

std::chrono::system_clock::time_point TimePoint(const ASN1_TIME* t) {
  struct tm parts = {};
  ASN1_TIME_to_tm(t, &parts);
  return std::chrono::system_clock::from_time_t(timegm(&parts));
}

}  // namespace

Expected<CertifiedKey, std::string> MakeCertificateAuthority(const CertificateRequest& request) {
  return Sign(request, nullptr, nullptr, /*is_ca=*/true);
}

Expected<CertifiedKey, std::string> IssueCertificate(const CertifiedKey& ca, const CertificateRequest& request) {
  Owned<X509> ca_cert = ReadCert(ca.cert_pem);
  Owned<EVP_PKEY> ca_key = ReadKey(ca.key_pem);
  if (!ca_cert || !ca_key) return Unexpected{OpenSslError("the CA's certificate or key does not parse")};
  return Sign(request, ca_key.get(), ca_cert.get(), /*is_ca=*/false);
}

Expected<CertificateInfo, std::string> InspectCertificate(const std::string& cert_pem) {
  Owned<X509> cert = ReadCert(cert_pem);
  if (!cert) return Unexpected{OpenSslError("not a PEM certificate")};
  Owned<BIGNUM> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  char* hex = BN_bn2hex(serial.get());
  CertificateInfo info{TimePoint(X509_get0_notBefore(cert.get())), TimePoint(X509_get0_notAfter(cert.get())), hex};
  OPENSSL_free(hex);
  return info;
}

bool CertificateValid(const std::string& ca_pem, const std::string& cert_pem, const std::string& key_pem) {
  Owned<X509> ca = ReadCert(ca_pem);
  Owned<X509> cert = ReadCert(cert_pem);
  Owned<EVP_PKEY> key = ReadKey(key_pem);
  Owned<X509_STORE> store(X509_STORE_new());
  Owned<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  const bool ok = ca && cert && key && X509_check_private_key(cert.get(), key.get()) == 1 &&
                  X509_STORE_add_cert(store.get(), ca.get()) == 1 &&
                  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) == 1 &&
                  X509_verify_cert(ctx.get()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace common
