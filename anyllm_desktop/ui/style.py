"""The app's style sheet: a few accents over the platform style, readable in light and dark."""

STYLE_SHEET = """
QFrame#Sidebar { background: palette(base); border-right: 1px solid palette(mid); }
#SidebarTitle { font-weight: 600; font-size: 13pt; padding: 4px 2px 8px 2px; }
#EmptyHint { color: palette(placeholder-text); padding: 6px 2px; }
#WorkspaceList { border: none; background: transparent; }
#Notice {
    background: #fff4d6; color: #5c4400; border: 1px solid #e8c766; border-radius: 6px;
    padding: 8px 10px;
}
#ChatHeader { padding: 10px 18px 6px 18px; font-size: 11pt; }
#UserMessage { background: palette(alternate-base); border-radius: 10px; }
#AssistantMessage { background: palette(base); border: 1px solid palette(midlight);
    border-radius: 10px; }
#MessageTitle { font-weight: 600; color: palette(dark); }
#MessageBody { background: transparent; }
#Sources { color: palette(text); padding-top: 4px; }
#MessageStatus { color: palette(dark); font-style: italic; }
#MessageStatus[error="true"] { color: #b00020; font-style: normal; font-weight: 600; }
#SendButton[stop="true"] { background: #b00020; color: #ffffff; font-weight: 600;
    border: 1px solid #8c0019; border-radius: 4px; padding: 4px 10px; }
#NetworkState { color: #1e7e34; font-weight: 600; padding: 0 6px; }
#NetworkState[online="true"] { color: #b35c00; }
"""
