"""The Alertmanager configuration prometheus-operator builds from an AlertmanagerConfig.

Reproduces prometheus-operator's pkg/alertmanager/amcfg.go: AddAlertmanagerConfigs
puts each object's route first under the cluster's root route; convertRoute and
makeNamespacedString prefix receivers with "<namespace>/<name>/"; the default
matcher strategy (namespaceEnforcer.processRoute) adds namespace="<namespace>";
continueToNextRoute sets continue. Matchers print as Matcher.String: name, match
type, quoted value. The cluster's own config is reduced to a root receiver "null",
so an alert this project's routes miss lands there. Hand-written: the operator's
Go code is the only implementation.
"""

NULL = "null"


def _matcher(m: dict) -> str:
    return f'{m["name"]}{m.get("matchType", "=")}"{m["value"]}"'


def _route(route: dict, prefix: str) -> dict:
    out = {"receiver": prefix + route["receiver"]} if route.get("receiver") else {}
    keys = {"groupBy": "group_by", "groupWait": "group_wait", "groupInterval": "group_interval",
            "repeatInterval": "repeat_interval", "continue": "continue"}
    out.update({keys[k]: v for k, v in route.items() if k in keys})
    if route.get("matchers"):
        out["matchers"] = [_matcher(m) for m in route["matchers"]]
    if route.get("routes"):
        out["routes"] = [_route(r, prefix) for r in route["routes"]]
    return out


def _receiver(receiver: dict, prefix: str) -> dict:
    out = {"name": prefix + receiver["name"]}
    if receiver.get("webhookConfigs"):
        out["webhook_configs"] = [{"url": w["url"], "send_resolved": w.get("sendResolved", True)}
                                  for w in receiver["webhookConfigs"]]
    return out


def operator_config(amc: dict) -> dict:
    """alertmanager.yaml as the operator renders it with this one AlertmanagerConfig."""
    ns, name = amc["metadata"]["namespace"], amc["metadata"]["name"]
    prefix = f"{ns}/{name}/"
    top = _route(amc["spec"]["route"], prefix)
    top["matchers"] = top.get("matchers", []) + [f'namespace="{ns}"']
    top["continue"] = True
    return {"route": {"receiver": NULL, "routes": [top]},
            "receivers": [{"name": NULL}] + [_receiver(r, prefix) for r in amc["spec"].get("receivers", [])]}
