DROP INDEX proxy_live_once;
