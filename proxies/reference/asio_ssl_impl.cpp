// Asio SSL compiled once for the reference proxy (BOOST_ASIO_SEPARATE_COMPILATION; the harness's
// own TLS uses OpenSSL directly and needs none of it).
#include <boost/asio/ssl/impl/src.hpp>
