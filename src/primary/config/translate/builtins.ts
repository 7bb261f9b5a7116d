// Registers the built-in extension translators (each module registers itself on import).
import './http_connection_manager.ts';
import './tcp_proxy.ts';
import './connection_limit.ts';
import './http_filters.ts';
import './lb_policy.ts';
import './breaker.ts';
