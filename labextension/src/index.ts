// The Ganga Jobs browser in JupyterLab 4 (launcher card, View menu, command palette) and in the Notebook 7 tree
// (a "Ganga Jobs" tab next to Files and Running, and the View menu). The page itself is served by GangaJupyter's
// Jupyter server extension at <base>/gangajupyter/jobs; this extension shows it in an iframe, or says how to
// enable the server extension when it is not running.
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { TabPanel, Widget } from '@lumino/widgets';

const COMMAND = 'gangajupyter:open-jobs';
const ENABLE_COMMAND = 'jupyter server extension enable GangaJupyter.Lib.Server';

const jobsIcon = new LabIcon({
  name: 'gangajupyter:jobs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161">' +
    '<rect x="3" y="4" width="18" height="3" rx="1"/><rect x="3" y="10.5" width="18" height="3" rx="1"/>' +
    '<rect x="3" y="17" width="11" height="3" rx="1"/></g></svg>'
});

/** The Jobs page in an iframe, or the message saying how to enable the server extension. */
class JobsPanel extends Widget {
  constructor() {
    super();
    this.id = 'gangajupyter-jobs';
    this.addClass('gj-jobs-panel');
    this.title.label = 'Ganga Jobs';
    this.title.caption = 'The jobs of the Ganga repository, live';
    this.title.icon = jobsIcon;
    void this.load();
  }

  private async load(): Promise<void> {
    const settings = ServerConnection.makeSettings();
    const status = URLExt.join(settings.baseUrl, 'gangajupyter', 'api', 'status');
    let response: Response | null = null;
    try {
      response = await ServerConnection.makeRequest(status, {}, settings);
    } catch (err) {
      response = null;
    }
    if (response === null || response.status === 404) {
      this.showMissing();
      return;
    }
    const frame = document.createElement('iframe');
    // Same origin: the page needs Jupyter's login cookie and its _xsrf cookie for actions.
    frame.setAttribute(
      'sandbox',
      'allow-scripts allow-same-origin allow-forms allow-popups allow-modals allow-downloads'
    );
    frame.title = 'Ganga Jobs';
    frame.src = URLExt.join(settings.baseUrl, 'gangajupyter', 'jobs');
    this.node.replaceChildren(frame);
  }

  private showMissing(): void {
    const box = document.createElement('div');
    box.className = 'gj-jobs-missing';
    const title = document.createElement('h2');
    title.textContent = 'The Ganga Jobs server extension is not enabled';
    const text = document.createElement('p');
    text.textContent =
      'This Jupyter server does not run GangaJupyter\u2019s server extension, so there are no jobs to show. ' +
      'Enable it, then restart the Jupyter server:';
    const command = document.createElement('pre');
    const code = document.createElement('code');
    code.textContent = ENABLE_COMMAND;
    command.append(code);
    const more = document.createElement('p');
    more.textContent =
      'pip install GangaJupyter enables it by itself; it is off when the server runs in another Python ' +
      'environment than GangaJupyter, or when it was disabled. ' +
      '"jupyter server extension list" shows what the server loads.';
    box.append(title, text, command, more);
    this.node.replaceChildren(box);
  }
}

/** Files and notebooks the page asks to open (it runs in our iframe, on the same origin). */
function listenToPage(app: JupyterFrontEnd, frames: () => Widget[]): void {
  window.addEventListener('message', (event: MessageEvent) => {
    const data = event.data;
    if (event.origin !== window.location.origin || !data || data.source !== 'gangajupyter-jobs') {
      return;
    }
    const fromOurFrame = frames().some(w =>
      Array.from(w.node.querySelectorAll('iframe')).some(f => f.contentWindow === event.source)
    );
    if (!fromOurFrame || typeof data.path !== 'string') {
      return;
    }
    const base = PageConfig.getBaseUrl();
    const encoded = data.path.split('/').map(encodeURIComponent).join('/');
    if (data.kind === 'notebook') {
      void app.commands.execute('docmanager:open', { path: data.path });
    } else if (data.kind === 'directory') {
      if (app.name === 'Jupyter Notebook' || !app.commands.hasCommand('filebrowser:go-to-path')) {
        window.open(URLExt.join(base, 'tree', encoded), '_blank');
      } else {
        void app.commands.execute('filebrowser:go-to-path', { path: '/' + data.path });
      }
    }
  });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'gangajupyter-jobs:plugin',
  description: 'The Ganga Jobs browser (GangaJupyter)',
  autoStart: true,
  optional: [ILauncher, IMainMenu, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    mainMenu: IMainMenu | null,
    palette: ICommandPalette | null
  ) => {
    const isNotebook7 = app.name === 'Jupyter Notebook';
    let labWidget: MainAreaWidget<JobsPanel> | null = null;
    let treeTab: JobsPanel | null = null;

    // Notebook 7's tree page: its main area is a TabPanel (Files, Running, ...); add a tab to it.
    const notebookTree = (): TabPanel | null => {
      for (const widget of app.shell.widgets('main')) {
        if (widget instanceof TabPanel) {
          return widget;
        }
      }
      return null;
    };

    app.commands.addCommand(COMMAND, {
      label: 'Ganga Jobs',
      caption: 'Browse, watch and act on the jobs of the Ganga repository',
      icon: jobsIcon,
      execute: () => {
        if (isNotebook7) {
          const tree = notebookTree();
          if (tree && treeTab) {
            tree.currentWidget = treeTab;
          } else {
            window.open(URLExt.join(PageConfig.getBaseUrl(), 'tree'), '_blank');
          }
          return;
        }
        if (!labWidget || labWidget.isDisposed) {
          labWidget = new MainAreaWidget({ content: new JobsPanel() });
          labWidget.id = 'gangajupyter-jobs-lab';
          labWidget.title.label = 'Ganga Jobs';
          labWidget.title.icon = jobsIcon;
          labWidget.title.closable = true;
        }
        if (!labWidget.isAttached) {
          app.shell.add(labWidget, 'main');
        }
        app.shell.activateById(labWidget.id);
      }
    });

    if (isNotebook7) {
      void app.restored.then(() => {
        const tree = notebookTree();
        if (tree) {
          treeTab = new JobsPanel();
          tree.addWidget(treeTab);
        }
      });
    }
    if (launcher) {
      launcher.add({ command: COMMAND, category: 'Other', rank: 0 });
    }
    if (mainMenu) {
      mainMenu.viewMenu.addGroup([{ command: COMMAND }], 100);
    }
    if (palette) {
      palette.addItem({ command: COMMAND, category: 'Ganga' });
    }
    listenToPage(app, () => {
      const shown: Widget[] = [];
      for (const widget of [labWidget, treeTab]) {
        if (widget !== null && !widget.isDisposed) {
          shown.push(widget);
        }
      }
      return shown;
    });
  }
};

export default plugin;
