// Asio and Beast are compiled once, here (BOOST_ASIO_SEPARATE_COMPILATION,
// BOOST_BEAST_SEPARATE_COMPILATION are set on upfault::core and its users).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
