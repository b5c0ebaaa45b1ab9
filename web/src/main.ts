// The console's entry point: wires the tabs to their panels.

import { setUpCluster, showCluster } from "./cluster";
import { byId } from "./dom";
import { setUpHide } from "./hide";
import { setUpReveal } from "./reveal";
import { setUpTabs } from "./tabs";

setUpHide();
setUpReveal();
setUpCluster();
setUpTabs(byId("tab-hide", HTMLButtonElement).parentElement!, (name) => showCluster(name === "cluster"));
