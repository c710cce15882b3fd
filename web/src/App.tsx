import { useEffect, useState } from "react";
import { ConsoleView } from "./views/ConsoleView";
import { LearnerView } from "./views/LearnerView";
import { PlaygroundView } from "./views/PlaygroundView";

type Route = "learn" | "playground" | "console";

const ROUTES: Array<{ route: Route; path: string; label: string; title: string }> = [
  { route: "learn", path: "/", label: "Lesson", title: "Lectern — lesson" },
  { route: "playground", path: "/playground", label: "Playground", title: "Lectern — author playground" },
  { route: "console", path: "/console", label: "Console", title: "Lectern — operator console" },
];

function routeOf(pathname: string): Route {
  return ROUTES.find((r) => r.path !== "/" && pathname.startsWith(r.path))?.route ?? "learn";
}

/** Three pages, plain history navigation (the server answers every path with the app). */
export function App() {
  const [route, setRoute] = useState<Route>(() => routeOf(window.location.pathname));

  useEffect(() => {
    const onPop = () => setRoute(routeOf(window.location.pathname));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  useEffect(() => {
    document.title = ROUTES.find((r) => r.route === route)!.title;
    // Move focus to the page for keyboard and screen-reader users after navigation.
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [route]);

  const go = (e: React.MouseEvent<HTMLAnchorElement>, r: (typeof ROUTES)[number]) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    if (r.route !== route) {
      window.history.pushState(null, "", r.path);
      setRoute(r.route);
    }
  };

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <a className="brand" href="/" onClick={(e) => go(e, ROUTES[0]!)}>
          <img src="/favicon.svg" alt="" />
          <span>Lectern</span>
        </a>
        <nav className="app-nav" aria-label="Main">
          <ul>
            {ROUTES.map((r) => (
              <li key={r.route}>
                <a href={r.path} aria-current={r.route === route ? "page" : undefined} onClick={(e) => go(e, r)}>
                  {r.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        {route === "learn" ? <LearnerView /> : route === "playground" ? <PlaygroundView /> : <ConsoleView />}
      </main>
    </>
  );
}
