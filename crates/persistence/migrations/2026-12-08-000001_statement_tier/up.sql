-- The certainty a statement's figure stands for (rule 6). Statements stored before it was asked
-- stood for ESTABLISHED, the tier rule 6 compared every statement at.
ALTER TABLE statements
    ADD COLUMN tier text NOT NULL DEFAULT 'established'
        CHECK (tier IN ('established', 'likely', 'alleged'));
